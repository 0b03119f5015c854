# Pulsar GeoLab: the one entry point for humans and CI.
#   make lab     install, check the machine, get the Pulsar image, open JupyterLab on the notebooks
#   make test    install, get the image, lint, type-check, run unit and real-cluster tests
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
GEOLAB := $(VENV)/bin/geolab
# installed as a learner gets it (a wheel, not editable), once, and again only when its inputs change
STAMP := $(VENV)/.geolab-installed
SOURCES := pyproject.toml $(shell find labs/ checks/ docker/ notebooks/ -type f -not -path '*/__pycache__/*' \
                                  -not -path '*/.ipynb_checkpoints/*' 2>/dev/null)
PYTEST_ARGS ?=

.PHONY: help install lab image doctor test test-unit test-integration notebooks lint typecheck bench bench-workshop self-test wheel messages \
        crash-cleanup failover-drills clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 18

$(PY):
	python3 -m venv $(VENV)

$(STAMP): $(SOURCES) | $(PY)
	@echo "Installing pulsar-geolab into $(VENV) (again only when its files change) ..."
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check '.[test,workshop]'
	@touch $@

install: $(STAMP)  ## create .venv and install the package (only when its files changed)

image: install  ## get the Pulsar image: present, or built offline from Maven Central
	@$(GEOLAB) image status >/dev/null 2>&1 || $(GEOLAB) image build

doctor: install  ## check Docker, memory, CPUs, image and ports
	$(GEOLAB) doctor

lab: image  ## open JupyterLab on the notebooks (GEOLAB_LANG=zh: the Chinese course, notebooks/zh)
	$(GEOLAB) doctor
	$(GEOLAB) lab $$($(PY) -m labs.course --folder notebooks)

test: image lint typecheck  ## the whole suite: lint, types, unit and real-cluster tests
	$(PY) -m pytest tests $(PYTEST_ARGS)

test-unit: install  ## unit tests only (no Docker)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: image  ## real-cluster tests only
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

messages: install  ## extract the marked messages, update the zh catalog, compile it (commit .po and .mo)
	@# translating: python -m tools.catalog pending [PATH] lists what is left; apply FILE.json fills it in
	@mkdir -p build/i18n
	$(VENV)/bin/pybabel extract -F pyproject.toml --no-location --sort-output --project "Pulsar GeoLab" \
	    -o build/i18n/geolab.pot labs checks
	$(VENV)/bin/pybabel update -i build/i18n/geolab.pot -d labs/locale -D geolab -l zh_CN --no-fuzzy-matching \
	    --ignore-obsolete
	$(VENV)/bin/pybabel compile -d labs/locale -D geolab --statistics

notebooks: install  ## rebuild notebooks/ and notebooks/zh/ (self-paced edition) from the exercises and lesson catalogs
	@# the lessons' Chinese text: notebooks/locale/zh_CN/LC_MESSAGES/<lesson>.po (python -m tools.lessons pending|apply)
	$(PY) -m checks.lessons extract
	$(PY) -m checks.editions --strict  # a text without its Chinese stops the build

lint: install  ## ruff
	$(VENV)/bin/ruff check labs checks tests benchmarks tools

typecheck: install  ## mypy --strict
	$(VENV)/bin/mypy

bench: image  ## start-up, memory, latency, views, grading and hostile-submission benchmarks (tables)
	$(PY) -m benchmarks.bench_lab
	$(PY) -m benchmarks.bench_views
	$(PY) -m benchmarks.bench_grading
	$(PY) -m benchmarks.bench_hostile

bench-workshop: image  ## a hosted workshop: learners at once, memory per learner, time to a ready lab (root)
	$(PY) -m benchmarks.bench_workshop

crash-cleanup: image  ## SIGKILL Lab.start at random points, count what is left behind
	$(PY) -m benchmarks.crash_cleanup

failover-drills: image  ## the failover drill 20 times in a row: lost and duplicates per run
	$(PY) -m benchmarks.failover_drills

ROUNDS ?= 1

self-test: image  ## grade every notebook with its solutions (full marks; ROUNDS=5: five times) and untouched (less), in both languages
	@# three at a time: a quarter faster than two on a 2-core machine (30 submissions: 939 s against 1,315 s)
	@# both languages run, whatever the first found; the target fails when either did
	@status=0; \
	$(GEOLAB) grade --self-test --jobs 3 --rounds $(ROUNDS) --out grading/self-test || status=1; \
	$(GEOLAB) grade --self-test --jobs 3 --rounds $(ROUNDS) --lang zh --out grading/self-test-zh || status=1; \
	exit $$status

wheel: install  ## build the wheel a learner installs (dist/)
	$(PY) -m build --wheel --outdir dist .

clean:  ## remove labs, the venv and caches
	-$(GEOLAB) down --all
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info build dist

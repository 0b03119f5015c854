# Pulsar GeoLab: the one entry point for humans and CI.
#   make lab     install, check the machine, get the Pulsar image, open JupyterLab on the notebooks
#   make test    install, get the image, run unit and real-cluster tests
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
GEOLAB := $(VENV)/bin/geolab
PYTEST_ARGS ?=

.PHONY: help install lab image doctor test test-unit test-integration lint typecheck bench self-test clean

help:
	@echo "make lab | test | image | doctor | bench | lint | typecheck | clean"

$(PY):
	python3 -m venv $(VENV)

install: $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'

image: install
	$(GEOLAB) image status >/dev/null 2>&1 || $(GEOLAB) image build

doctor: install
	$(GEOLAB) doctor

lab: image
	$(GEOLAB) doctor
	$(VENV)/bin/jupyter lab --ip=127.0.0.1 --notebook-dir=notebooks

test: image lint typecheck
	$(PY) -m pytest tests $(PYTEST_ARGS)

test-unit: install
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test-integration: image
	$(PY) -m pytest tests/integration $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check labs checks tests benchmarks

typecheck: install
	$(VENV)/bin/mypy

bench: image
	$(PY) -m benchmarks.bench_lab
	$(PY) -m benchmarks.bench_views
	$(PY) -m benchmarks.bench_grading

self-test: image
	$(GEOLAB) grade --self-test --out grading/self-test

clean:
	-$(GEOLAB) down --all
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

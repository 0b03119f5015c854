"""Installed as a learner installs it: the built wheel in a new venv, used from a folder that is not
the repository. It carries the image build files and the notebooks as package data, and its
`geolab` hands out the notebooks, checks the machine, finds its image recipe up to date, and runs a
lab."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import docker
from labs.image import IMAGE_FILES
from labs.lab import Lab
from labs.settings import LOCAL_IMAGE
from tests.integration.conftest import lab_leftovers

REPOSITORY = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.name for p in (REPOSITORY / "notebooks").glob("*.ipynb"))
CHINESE = sorted(p.name for p in (REPOSITORY / "notebooks" / "zh").glob("*.ipynb"))  # the Chinese course


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600
        ) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(REPOSITORY)], cwd=REPOSITORY)
    (found,) = out.glob("pulsar_geolab-*.whl")
    return found


@pytest.fixture(scope="module")
def learner(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    """A new venv with only the wheel installed, and an environment without the repository on it."""
    home = tmp_path_factory.mktemp("learner")
    venv = home / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=home)
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         str(wheel)], cwd=home, timeout=900)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    yield venv, env


def test_the_wheel_carries_image_files_and_notebooks(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {f"labs/dockerfiles/{name}" for name in IMAGE_FILES} <= names
    assert {f"labs/notebooks/{name}" for name in NOTEBOOKS} <= names
    assert CHINESE and {f"labs/notebooks/zh/{name}" for name in CHINESE} <= names
    assert not [n for n in names if n.startswith("labs/notebooks/locale/")]  # the lesson catalogs: build time only
    assert "labs/locale/zh_CN/LC_MESSAGES/geolab.mo" in names  # the Chinese messages
    assert not [n for n in names if n.startswith(("tests/", "docker/", "notebooks/"))]


def test_geolab_notebooks_copies_the_course(learner: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    venv, env = learner
    run([str(venv / "bin" / "geolab"), "notebooks", "course"], cwd=tmp_path, env=env)
    copied = sorted(p.name for p in (tmp_path / "course").glob("*.ipynb"))
    assert copied == NOTEBOOKS
    for name in NOTEBOOKS:
        assert (tmp_path / "course" / name).read_bytes() == (REPOSITORY / "notebooks" / name).read_bytes()


def test_geolab_notebooks_copies_the_chinese_course_for_a_chinese_learner(learner: tuple[Path, dict[str, str]],
                                                                         tmp_path: Path) -> None:
    venv, env = learner
    run([str(venv / "bin" / "geolab"), "notebooks", "course"], cwd=tmp_path, env={**env, "GEOLAB_LANG": "zh"})
    copied = sorted(p.name for p in (tmp_path / "course").glob("*.ipynb"))
    assert copied == CHINESE
    for name in CHINESE:
        assert (tmp_path / "course" / name).read_bytes() == (REPOSITORY / "notebooks" / "zh" / name).read_bytes()


def test_installed_geolab_builds_and_runs_a_lab(learner: tuple[Path, dict[str, str]], tmp_path: Path,
                                                engine: docker.DockerClient, pulsar_image: str) -> None:
    venv, env = learner
    geolab = str(venv / "bin" / "geolab")
    where = run([str(venv / "bin" / "python"), "-c", "import labs; print(labs.__file__)"], cwd=tmp_path, env=env)
    assert str(venv) in where.stdout, f"labs imported from {where.stdout}, not from the wheel"
    before = engine.images.get(LOCAL_IMAGE).id
    # the packaged Dockerfile and script hash to the recipe of the image the checkout built
    run([geolab, "image", "build"], cwd=tmp_path, env=env)
    assert engine.images.get(LOCAL_IMAGE).id == before
    run([geolab, "doctor", "--clusters", "1"], cwd=tmp_path, env=env)
    try:
        run([geolab, "up", "single", "--name", "it-wheel"], cwd=tmp_path, env=env)
        run([geolab, "status", "it-wheel"], cwd=tmp_path, env=env)
        lab = Lab.attach("it-wheel")
        try:
            assert [(c.name, c.state, c.healthy) for c in lab.status().clusters] == [("beijing", "running", True)]
        finally:
            lab.close()
    finally:
        run([geolab, "down", "it-wheel"], cwd=tmp_path, env=env)
    assert lab_leftovers(engine, "it-wheel") == ([], [])

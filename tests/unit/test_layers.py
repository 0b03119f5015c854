"""Imports flow one way, and each package exports exactly its public names.

notebooks -> labs/checks API -> views / grader engine -> replication and flows -> admin (HTTP) and
cluster (Docker). `labs` never imports `checks`; `admin` never imports the Docker side; `topology`
is pure; views never provision.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import pytest

import checks
import labs

LABS = Path(labs.__file__).parent
CHECKS = Path(checks.__file__).parent


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, including imports inside functions and under TYPE_CHECKING."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "dockerfiles" not in p.parts)


@pytest.mark.parametrize("path", modules(LABS), ids=lambda p: str(p.relative_to(LABS.parent)))
def test_labs_never_imports_checks(path: Path) -> None:
    assert not {m for m in imports_of(path) if m == "checks" or m.startswith("checks.")}


def test_admin_never_imports_the_docker_side() -> None:
    forbidden = {"labs.cluster", "labs.lab", "labs.engine", "labs.faults", "labs.image"}
    found = imports_of(LABS / "admin.py")
    assert not {m for m in found if m.split(".")[0] in {"docker", "testcontainers"} or m in forbidden}


def test_topology_is_pure() -> None:
    assert not {m for m in imports_of(LABS / "topology.py")
                if m.startswith(("docker", "testcontainers", "httpx", "pulsar", "labs.cluster", "labs.admin"))}


def test_cluster_never_imports_admin_or_what_is_above_it() -> None:
    assert not imports_of(LABS / "cluster.py") & {"labs.admin", "labs.replication", "labs.lab", "labs.flows"}


@pytest.mark.parametrize("path", modules(LABS / "views"), ids=lambda p: p.name)
def test_views_never_provision(path: Path) -> None:
    assert not imports_of(path) & {"labs.cluster", "labs.engine", "labs.image", "docker", "testcontainers"}


def test_waiting_and_errors_sit_at_the_bottom() -> None:
    assert {m for m in imports_of(LABS / "errors.py") if m.startswith("labs")} == set()
    assert {m for m in imports_of(LABS / "i18n.py") if m.startswith("labs")} == {"labs.errors"}
    # a wait says its timeout in the reader's language: labs.i18n is at the bottom too (it imports only errors)
    assert {m for m in imports_of(LABS / "waiting.py") if m.startswith("labs")} == {"labs.errors", "labs.i18n"}


def public_names(package: ModuleType) -> set[str]:
    """Names a user can reach on the package that are not submodules (those are its layout)."""
    return {name for name, value in vars(package).items()
            if not name.startswith("_") and not isinstance(value, ModuleType)}


@pytest.mark.parametrize("package", [labs, checks], ids=["labs", "checks"])
def test_all_lists_exactly_the_public_names(package: ModuleType) -> None:
    exported = list(package.__all__)
    assert exported == sorted(exported, key=str.casefold), "keep __all__ sorted"
    assert len(set(exported)) == len(exported), "a name appears twice in __all__"
    assert set(exported) == public_names(package)


def test_backend_and_control_channel_never_touch_docker() -> None:
    docker_side = {"docker", "testcontainers", "labs.cluster", "labs.engine", "labs.docker_backend", "labs.image",
                   "labs.faults"}
    for module in ("backend", "control", "forward"):
        found = imports_of(LABS / f"{module}.py")
        assert not {m for m in found if m in docker_side or m.split(".")[0] in {"docker", "testcontainers"}}, module

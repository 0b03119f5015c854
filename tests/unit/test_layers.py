"""Imports flow one way: admin knows HTTP only; topology knows neither Docker nor HTTP."""

from __future__ import annotations

import ast
from pathlib import Path

import labs

ROOT = Path(labs.__file__).parent


def imported_modules(module: str) -> set[str]:
    tree = ast.parse((ROOT / f"{module}.py").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_admin_never_imports_docker_side() -> None:
    forbidden = {"docker", "testcontainers", "labs.cluster", "labs.lab", "labs.engine", "labs.faults"}
    assert not {m for m in imported_modules("admin") if m.split(".")[0] in {"docker", "testcontainers"}
                or m in forbidden}


def test_topology_is_pure() -> None:
    assert not {m for m in imported_modules("topology") if m.startswith(("docker", "testcontainers", "httpx",
                                                                           "pulsar", "labs.cluster", "labs.admin"))}


def test_cluster_never_imports_admin_or_replication() -> None:
    assert not {m for m in imported_modules("cluster") if m in {"labs.admin", "labs.replication", "labs.lab"}}


def test_public_api_names_resolve() -> None:
    for name in labs.__all__:
        assert hasattr(labs, name), name

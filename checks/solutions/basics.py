"""Reference solutions of basics's exercises (never in the grading sandbox's image)."""

from __future__ import annotations

from checks.exercises.basics import NAMESPACE, PAIR
from labs.lab import Lab


def solve_register(lab: Lab) -> None:
    lab.admin("beijing").create_cluster("shanghai", "http://shanghai:8080", "pulsar://shanghai:6650")
    lab.admin("shanghai").create_cluster("beijing", "http://beijing:8080", "pulsar://beijing:6650")


def solve_namespace(lab: Lab) -> None:
    for cluster in PAIR:
        lab.admin(cluster).create_tenant("geolab", list(PAIR))
        lab.admin(cluster).create_namespace(NAMESPACE, list(PAIR))
        lab.admin(cluster).set_namespace_clusters(NAMESPACE, list(PAIR))


SOLUTIONS = {"01-basics/1": solve_register, "01-basics/2": solve_namespace}

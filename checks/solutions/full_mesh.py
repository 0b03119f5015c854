"""Reference solutions of full_mesh's exercises (never in the grading sandbox's image)."""

from __future__ import annotations

from checks.exercises.full_mesh import CLUSTERS, PAYMENTS, SELECTIVE
from labs.flows import collect
from labs.lab import Lab


def solve_payments(lab: Lab) -> None:
    lab.admin("guangzhou").create_namespace(PAYMENTS, list(CLUSTERS))


def solve_selective(lab: Lab) -> None:
    producer = lab.client("beijing").create_producer(lab.topic("greetings"))
    producer.send(SELECTIVE, replication_clusters=["beijing", "shanghai"])
    producer.close()
    consumer = lab.client("shanghai").subscribe(lab.topic("greetings"), "geolab-solution")
    collect(consumer, [SELECTIVE], timeout_s=30)
    consumer.unsubscribe()


SOLUTIONS = {"02-mesh/1": solve_payments, "02-mesh/2": solve_selective}

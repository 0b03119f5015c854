"""Lab start-up, reattach, memory and replication latency on this machine; prints a table.

Run with `make bench` (the image must be present). Targets are reported, never asserted.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass

import pulsar

from benchmarks.report import print_table, save
from labs.lab import Lab, down
from labs.topology import Topology, full_mesh, single

LATENCY_MESSAGES = 1000


@dataclass(frozen=True)
class Row:
    measure: str
    value: float
    unit: str
    target: str
    met: bool | None


def quiet(_line: str) -> None:
    pass


def timed_start(topology: Topology, name: str) -> tuple[Lab, float]:
    started = time.monotonic()
    lab = Lab.start(topology, name=name, progress=quiet)
    return lab, time.monotonic() - started


def container_rss_mib(lab: Lab) -> dict[str, float]:
    result = {}
    for cluster in lab.clusters:
        stats = lab.backend.container(lab.record, cluster).stats(stream=False)  # type: ignore[attr-defined]
        memory = stats.get("memory_stats", {})
        inner = memory.get("stats", {})
        rss = inner.get("rss", inner.get("anon", memory.get("usage", 0)))
        result[cluster] = rss / (1024 * 1024)
    return result


def latency_ms(lab: Lab, source: str, target: str, count: int) -> list[int]:
    """Publish time at the source to arrival in the target's listener thread, per message."""
    topic = lab.topic(f"bench-latency-{int(time.time())}")
    arrivals: dict[bytes, int] = {}
    done = threading.Event()

    def on_message(consumer: pulsar.Consumer, message: pulsar.Message) -> None:
        arrivals[message.data()] = int(time.time() * 1000) - message.publish_timestamp()
        consumer.acknowledge(message)
        if len(arrivals) >= count:
            done.set()

    consumer = lab.client(target).subscribe(topic, "bench", message_listener=on_message)
    producer = lab.client(source).create_producer(topic, batching_enabled=False)
    for i in range(count):
        producer.send(f"{i:05d}".encode())
    done.wait(timeout=120)
    producer.close()
    consumer.close()
    if len(arrivals) < count:
        raise RuntimeError(f"only {len(arrivals)} of {count} latency messages arrived on {target}")
    return list(arrivals.values())


def percentile(values: list[int], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return float(ordered[index])


def main() -> int:
    down("bench-1", progress=quiet)
    down("bench-2", progress=quiet)
    down("bench-3", progress=quiet)
    down("bench-3i", progress=quiet)
    rows: list[Row] = []

    lab1, one = timed_start(single("beijing"), "bench-1")
    lab1.stop(progress=quiet)
    rows.append(Row("start 1 cluster (healthy)", one, "s", "baseline", None))

    lab2, two = timed_start(full_mesh("beijing", "shanghai"), "bench-2")
    lab2.stop(progress=quiet)
    rows.append(Row("start 2-cluster full mesh -> replicated probe", two, "s", "", None))

    lab3i, three_indep = timed_start(full_mesh("beijing", "shanghai", "guangzhou", config_store="independent"),
                                     "bench-3i")
    lab3i.stop(progress=quiet)
    rows.append(Row("start 3-cluster full mesh (independent) -> probe", three_indep, "s", "< 90 s",
                    three_indep < 90))

    lab3, three = timed_start(full_mesh("beijing", "shanghai", "guangzhou"), "bench-3")
    rows.append(Row("start 3-cluster full mesh (shared store) -> probe", three, "s", "< 90 s", three < 90))
    ratio = three / one
    rows.append(Row("3-cluster / 1-cluster start time", ratio, "x", "<= 1.5x", ratio <= 1.5))

    again, reattach = timed_start(full_mesh("beijing", "shanghai", "guangzhou"), "bench-3")
    rows.append(Row("reattach to running 3-cluster lab", reattach, "s", "< 3 s", reattach < 3))

    idle = container_rss_mib(lab3)
    samples = latency_ms(lab3, "beijing", "shanghai", LATENCY_MESSAGES)
    loaded = container_rss_mib(lab3)
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    rows.append(Row(f"replication latency p50 ({LATENCY_MESSAGES} msgs beijing->shanghai)", p50, "ms", "< 50 ms",
                    p50 < 50))
    rows.append(Row("replication latency p99", p99, "ms", "", None))
    rows.append(Row("replication latency mean", statistics.fmean(samples), "ms", "", None))
    worst = max(max(idle.values()), max(loaded.values()))
    rows.append(Row("cluster container RSS, idle (max of 3)", max(idle.values()), "MiB", "< 768 MiB",
                    max(idle.values()) < 768))
    rows.append(Row("cluster container RSS, after latency run (max)", max(loaded.values()), "MiB", "< 768 MiB",
                    worst < 768))
    lab3.stop(progress=quiet)

    verdict = {None: "", True: "(met)", False: "(NOT met)"}
    print_table([(r.measure, r.value, r.unit, f"{r.target} {verdict[r.met]}".strip()) for r in rows])
    save("lab", [asdict(r) for r in rows])
    return 0


if __name__ == "__main__":
    sys.exit(main())

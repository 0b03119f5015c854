"""Live views on a 3-cluster lab: CPU used by refreshing at 4 Hz, and publish-to-tracer time.

Run with `make bench`. Prints a table; targets are reported, never asserted.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from benchmarks.report import print_table, save
from labs.lab import Lab, down
from labs.topology import full_mesh
from labs.views import Dashboard

WINDOW_S = 20.0
TRACES = 20


def quiet(_line: str) -> None:
    pass


async def cpu_share(seconds: float) -> float:
    """Share of one core this process used over `seconds` of wall time."""
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    return (time.process_time() - cpu0) / (time.monotonic() - wall0)


async def tracer_appearance_ms(board: Dashboard) -> list[float]:
    """Publish a traced message; time until the tracer's table (as rendered) shows every arrival."""
    samples = []
    for _ in range(TRACES):
        started = time.monotonic()
        trace = board.tracer.send("beijing")
        while True:
            await asyncio.sleep(0.005)
            html = board.tracer_view.table.value
            if trace in html and html.count("arrived after") >= 2:
                samples.append((time.monotonic() - started) * 1000)
                break
            if time.monotonic() - started > 30:
                raise RuntimeError(f"trace {trace} did not appear in the tracer within 30 s")
    return samples


async def measure(lab: Lab) -> dict[str, float]:
    board = Dashboard(lab, topic="bench-views", refresh_hz=4.0)
    board.flows.start_consumer("shanghai")
    board.flows.start_consumer("guangzhou")
    board.flows.start_producer("beijing", 20)
    await asyncio.sleep(3)
    idle = await cpu_share(WINDOW_S)  # flows only: producer, consumers, no views
    board.start()
    await asyncio.sleep(2)
    renders0 = board.renders
    with_views = await cpu_share(WINDOW_S)
    hz = (board.renders - renders0) / WINDOW_S
    traces = await tracer_appearance_ms(board)
    board.stop()
    return {"cpu_flows_only": idle * 100, "cpu_with_views": with_views * 100,
            "cpu_views": (with_views - idle) * 100, "refresh_hz": hz,
            "tracer_p50_ms": statistics.median(traces), "tracer_max_ms": max(traces)}


def main() -> int:
    down("bench-views", progress=quiet)
    lab = Lab.start(full_mesh("beijing", "shanghai", "guangzhou"), name="bench-views", progress=quiet)
    try:
        result = asyncio.run(measure(lab))
    finally:
        lab.stop(progress=quiet)
    rows = [
        ("views refresh rate achieved", result["refresh_hz"], "Hz", "4 Hz"),
        ("CPU, flows only (20 msg/s, 2 consumers)", result["cpu_flows_only"], "% core", ""),
        ("CPU, flows + views at 4 Hz", result["cpu_with_views"], "% core", ""),
        ("CPU used by the views", result["cpu_views"], "% core", "< 10 %"),
        ("publish -> shown in tracer, p50", result["tracer_p50_ms"], "ms", ""),
        ("publish -> shown in tracer, max", result["tracer_max_ms"], "ms", ""),
    ]
    print_table(rows)
    save("views", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())

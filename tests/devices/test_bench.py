"""`enerwise bench device` on a few simulated minutes (the figures themselves are not asserted:
benchmarks are commands, not timed tests)."""

from __future__ import annotations

from enerwise.benchmarks.device import run


def test_the_device_bench_reports_cycle_latency_memory_and_cpu() -> None:
    figures = run(hours=0.05, interval=10.0, speed=120.0)
    assert {"cycle_p99_ms", "rss_mb", "cpu_pct"} <= set(figures)
    assert figures["cycles"] == 18
    assert figures["cycle_p99_ms"] >= figures["cycle_p50_ms"] > 0
    assert figures["rss_mb"] > 0 and figures["cpu_pct"] > 0
    assert set(figures["events"]) <= {"deviation", "limited", "safe_default"}
    assert figures["events"]["safe_default"] == 3

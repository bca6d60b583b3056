"""A tiny benchmark run as a regression guard: correctness only, never timing."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from conftest import load_script

from engine.testing import EngineHarness


async def test_a_small_closed_loop_run_ends_with_every_order_terminal(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", failure_rate=0.1) as engine:
        bench = load_script("bench")
        stats, _ = await bench.closed_loop(engine.url, orders=300, concurrency=30, subscribers=2)
    assert stats.refused == 0
    assert sum(stats.finals.values()) == 300
    assert set(stats.finals) <= {"confirmed", "failed"}  # "lost" would mean a stream without end


async def test_a_small_scale_out_run_ends_with_every_order_terminal(
        postgres_url: str, tmp_path: Path) -> None:
    """`bench.py --processes`: two engines on PostgreSQL and a cluster process. (It starts a
    PostgreSQL of its own; the fixture is asked for to skip, or fail in CI, where there is none.)"""
    bench = load_script("bench")
    args = argparse.Namespace(processes=2, workers=10, latency_scale=0.0, failure_rate=0.0,
                              orders=60, concurrency=8, subscribers=1)
    figures = await bench.desk(args, tmp_path)
    assert figures["notTerminal"] == 0 and figures["orders"] == 60


async def test_the_scale_scripts_orders_are_ones_the_engine_reads(tmp_path: Path) -> None:
    """`scale.py orders` writes its million orders around the store: they must be the
    store's own rows, or the figures are of a database the engine cannot read."""
    scale = load_script("scale")
    ids = await scale.fill(tmp_path / "e.db", 30)
    async with EngineHarness.start(tmp_path / "e.db") as engine:
        order = await engine.order(ids[7])
        assert order["status"] == "confirmed" and order["fill"]["amountOut"] == "149.9"
        assert len(await engine.history(ids[7])) == 5


def test_a_run_with_no_subscriber_is_refused_before_it_starts() -> None:
    """The closed loop learns that an order ended from its stream: with none it would wait
    for nothing and report nothing done."""
    done = subprocess.run([sys.executable, "scripts/bench.py", "--subscribers", "0"],
                          capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 2
    assert "--subscribers must be at least 1" in done.stderr

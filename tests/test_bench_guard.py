"""A tiny benchmark run as a regression guard: correctness only, never timing."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from engine.testing import EngineHarness


def bench() -> ModuleType:
    path = Path(__file__).parents[1] / "scripts" / "bench.py"
    spec = importlib.util.spec_from_file_location("bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_a_small_closed_loop_run_ends_with_every_order_terminal(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", failure_rate=0.1) as engine:
        stats, _ = await bench().closed_loop(engine.url, orders=300, concurrency=30, subscribers=2)
    assert stats.refused == 0
    assert sum(stats.finals.values()) == 300
    assert set(stats.finals) <= {"confirmed", "failed"}  # "lost" would mean a stream without end

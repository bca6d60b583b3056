"""Real processes, real signals: SIGKILL at random moments and SIGTERM under load lose nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from conftest import load_script

from engine.testing.audit import audit
from engine.testing.process import EngineProcess, submit_until, wait_all_terminal

ARGS = ("--latency-scale", "0.2", "--failure-rate", "0.2", "--seed", "3")


async def test_sigterm_under_load_exits_0_and_every_order_finishes_after_restart(
        tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    engine = EngineProcess(db, *ARGS, "--shutdown-grace", "2")
    await engine.start()
    accepted: set[str] = set()
    stop = asyncio.Event()
    load = asyncio.create_task(submit_until(engine.url, stop, accepted, rate=80))
    await asyncio.sleep(1.0)
    assert await engine.terminate() == 0
    stop.set()
    await load
    assert accepted
    again = EngineProcess(db, *ARGS)
    await again.start()
    assert await wait_all_terminal(again.url, timeout=60)
    assert await again.terminate() == 0
    result = audit(db, accepted)
    assert result.clean, result
    assert result.accepted == len(accepted)


async def test_a_short_chaos_run_loses_nothing_and_executes_nothing_twice(
        tmp_path: Path) -> None:
    chaos = load_script("chaos")
    assert await chaos.chaos(kills=3, seed=5, rate=60, latency_scale=0.2, failure_rate=0.2,
                             workdir=tmp_path) == 0

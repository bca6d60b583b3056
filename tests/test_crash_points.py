"""A crash at every step boundary, in turn: after restart, one execution and a terminal order."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.domain.errors import NodeUnhealthy
from engine.testing import EngineHarness

STEPS = ["quoted", "signed", "signature and submission persisted", "sent", "landed"]
BOTH_ATTEMPTS = {"signed", "signature and submission persisted"}


class Crash(BaseException):
    """Not an Exception: nothing in the engine may catch it, as nothing catches a power cut."""


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("retry", [False, True], ids=["first attempt", "after a retry"])
async def test_crash_at_each_step_then_restart_executes_exactly_once(
        tmp_path: Path, step: str, retry: bool) -> None:
    async with EngineHarness.start(tmp_path / "e.db", seed=3) as engine:
        crashed = asyncio.Event()
        seen: list[str] = []

        def checkpoint(name: str) -> None:
            seen.append(name)
            # With a refused first send, the signing steps happen twice, the rest once.
            wanted = 2 if retry and name in BOTH_ATTEMPTS else 1
            if name == step and seen.count(name) == wanted and not crashed.is_set():
                crashed.set()
                raise Crash(step)

        if retry:
            engine.world.faults.fail_send(NodeUnhealthy, attempt=1)
        engine.engine.service.checkpoint = checkpoint
        order_id = await engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
        await asyncio.wait_for(crashed.wait(), 5)
        await engine.restart()
        final = await engine.wait_terminal(order_id)
        record = await engine.order(order_id)

    assert final["status"] == "confirmed", final
    executed = [t for t in engine.world.chain.landed_for(order_id) if t.err is None]
    assert len(executed) == 1
    assert executed[0].signature == final["txHash"]
    assert [e["seq"] for e in record["events"]] == list(range(1, len(record["events"]) + 1))

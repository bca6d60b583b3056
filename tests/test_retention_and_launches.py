"""Idempotency keys are forgotten after their retention; random launches follow --launch-rate."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from engine.testing import EngineHarness, ManualClock
from engine.usecases.operations import KEY_RETENTION

ORDER = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1}


async def test_keys_are_kept_through_their_retention_and_forgotten_after(tmp_path: Path) -> None:
    clock = ManualClock()
    async with EngineHarness.start(tmp_path / "e.db", clock=clock) as engine:
        _, first = await engine.post_order(ORDER, **{"Idempotency-Key": "k"})
        await clock.advance((KEY_RETENTION - timedelta(hours=1)).total_seconds())
        await engine.restart()
        _, again = await engine.post_order(ORDER, **{"Idempotency-Key": "k"})
        assert again["orderId"] == first["orderId"]  # 47 h later: still the same order
        await clock.advance(timedelta(hours=2).total_seconds())
        await engine.restart()  # start-up forgets keys older than the retention
        _, fresh = await engine.post_order(ORDER, **{"Idempotency-Key": "k"})
        assert fresh["orderId"] != first["orderId"]


async def test_the_market_ticker_launches_tokens_at_the_configured_rate(tmp_path: Path) -> None:
    clock = ManualClock()
    async with EngineHarness.start(tmp_path / "e.db", clock=clock, latency_scale=1.0) as engine:
        world = engine.world
        ticker = asyncio.create_task(world.run(clock, launch_rate=600))  # ~4 a second of slots
        for _ in range(50):  # 50 slots of 0.4 s
            await clock.advance(0.4)
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
    assert len(world.launches) >= 5
    pools = {x["pool"] for x in world.launches}
    assert all(p in world.raydium.pools or p in world.meteora.pools for p in pools)

"""Keys are served fairly: one key's backlog of TWAP slices neither fills the queue past
--max-pending nor stands in front of another key's orders, and its slices draw on its rate."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from conftest import run_until
from stubs import new_order

from engine.domain.order import Order
from engine.orders.fair_queue import FairQueue
from engine.testing import EngineHarness, ManualClock

TWAP = {"orderType": "twap", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.3,
        "slippage": 0.05, "slices": 3, "intervalSeconds": 1}
MARKET = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.1}


def owned(owner: str | None, n: int) -> Order:
    return replace(new_order(f"{owner}-{n}"), owner=owner)


async def test_an_owner_with_one_order_is_served_before_anothers_backlog() -> None:
    queue = FairQueue()
    for n in range(100):
        queue.put_nowait(owned("greedy", n))
    queue.put_nowait(owned("modest", 0))
    served = [(await queue.get()).owner for _ in range(3)]
    assert served.index("modest") <= 1
    assert queue.qsize() == 98


async def test_a_sniper_goes_first_whoever_owns_the_rest() -> None:
    queue = FairQueue()
    queue.put_nowait(owned("a", 0))
    queue.put_nowait(owned("b", 0), urgent=True)
    assert (await queue.get()).owner == "b"


async def test_one_keys_twaps_neither_overfill_the_queue_nor_delay_another_keys_order(
        tmp_path: Path) -> None:
    clock = ManualClock()
    async with EngineHarness.start(tmp_path / "e.db", clock=clock, latency_scale=1.0,
                                   workers=1, max_pending=20) as engine:
        engine.world.hold_prices()
        greedy = await engine.create_key("greedy", "trade")
        modest = await engine.create_key("modest", "trade")
        engine.use_key(greedy)
        for _ in range(12):
            await engine.submit(**TWAP)
        for _ in range(50):
            await asyncio.sleep(0.005)  # the schedules create their first slices
        health = engine.engine.operations.health()
        assert health.queued <= 18  # slices leave the last tenth of --max-pending free
        engine.use_key(modest)
        mine = await engine.submit(**MARKET)  # the last tenth is kept for direct orders
        engine.use_key(greedy)
        confirmed_before: list[str] = []

        async def done() -> bool:
            engine.use_key(modest)
            finished = (await engine.order(mine))["status"] == "confirmed"
            engine.use_key(greedy)
            if not finished:
                async with engine.http.get("/api/orders", params={"status": "confirmed"},  # type: ignore[union-attr]
                                           headers={"Authorization": f"Bearer {greedy}"}) as r:
                    confirmed_before[:] = [o["orderId"] for o in (await r.json())["orders"]]
            return finished

        await run_until(engine, done)
        assert len(confirmed_before) <= 2  # one executing when it came, at most one turn more


async def test_twap_slices_draw_on_their_keys_request_rate(tmp_path: Path) -> None:
    clock = ManualClock()
    async with EngineHarness.start(tmp_path / "e.db", clock=clock,
                                   requests_per_second=2.0) as engine:
        engine.world.hold_prices()
        busy = await engine.create_key("busy", "trade")
        idle = await engine.create_key("idle", "read")
        engine.use_key(busy)
        for _ in range(3):
            await engine.submit(**{**TWAP, "slices": 10})
        for _ in range(50):
            await asyncio.sleep(0.005)  # their first slices took the bucket's tokens
        assert engine.http is not None
        async with engine.http.get("/api/orders", headers={"Authorization": f"Bearer {busy}"}) as r:
            assert r.status == 429
        async with engine.http.get("/api/orders", headers={"Authorization": f"Bearer {idle}"}) as r:
            assert r.status == 200

"""Several engines, one order book: two engine processes' worth of engines on one PostgreSQL
database and one standalone cluster. Each order executes once, whichever engine took it; a
subscriber on either engine sees every event; a dead engine's orders move to a live one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest_asyncio

from engine.simulator.world import SimWorld
from engine.testing import EngineHarness
from engine.testing.audit import reconcile_wallet
from engine.testing.cluster import standalone_cluster, still_world, wallet_for
from engine.testing.postgres import fresh_database

LEASE = 0.6  # seconds: a stopped engine's orders move within about this


class Desk:
    def __init__(self, world: SimWorld, engines: list[EngineHarness], db: str,
                 record: Path) -> None:
        self.world, self.engines, self.db, self.record = world, engines, db, record


@pytest_asyncio.fixture
async def desk(postgres_url: str, tmp_path: Path) -> AsyncIterator[Desk]:
    db = await fresh_database(postgres_url, str(tmp_path))
    world = still_world(tmp_path / "cluster.db", funded=wallet_for(tmp_path / "wallet.json"))
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(standalone_cluster(world))
        engines = [await stack.enter_async_context(EngineHarness.start(
            db, rpc_url=url, keypair=str(tmp_path / "wallet.json"),
            chain_db=str(tmp_path / f"{n}.chain.db"), lease_seconds=LEASE)) for n in range(2)]
        yield Desk(world, engines, db, tmp_path / "cluster.db")


async def test_a_subscriber_on_one_engine_sees_every_event_of_an_order_another_executed(
        desk: Desk) -> None:
    a, b = desk.engines
    order_id = await a.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
    events = await asyncio.wait_for(b.history(order_id), 10)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[-1]["status"] == "confirmed"
    assert len(desk.world.chain.history.landed_for(order_id)) == 1


async def test_a_waiting_order_fires_once_though_two_engines_watch_the_market(
        desk: Desk) -> None:
    a, b = desk.engines
    order_id = await a.submit(orderType="limit", tokenIn="SOL", tokenOut="USDC", amount=1,
                              limitPrice="154", slippage=0.02)
    await b.wait_for_status(order_id, "waiting")  # seen on the other engine too
    for pool in ("met-sol-usdc", "ray-sol-usdc"):
        desk.world.move_price(pool, 1.05)
    final = await b.wait_terminal(order_id)
    assert final["status"] == "confirmed"
    await asyncio.sleep(0.3)
    assert len(desk.world.chain.history.landed_for(order_id)) == 1


async def test_a_stopped_engines_waiting_order_moves_to_a_live_one_and_fires_there(
        desk: Desk) -> None:
    a, b = desk.engines
    order_id = await a.submit(orderType="limit", tokenIn="SOL", tokenOut="USDC", amount=1,
                              limitPrice="154", slippage=0.02)
    await b.wait_for_status(order_id, "waiting")  # a has armed it: b saw the event
    await a.shutdown()  # it stops renewing its lease; its order is left waiting
    # The lease expires; b takes the order over and watches it.
    await b.wait_until(b.health, lambda now: now.waiting == 1, limit=40 * LEASE)
    assert b.engine.operations.health().waiting == 1
    for pool in ("met-sol-usdc", "ray-sol-usdc"):
        desk.world.move_price(pool, 1.05)
    final = await b.wait_terminal(order_id)
    assert final["status"] == "confirmed"
    assert len(desk.world.chain.history.landed_for(order_id)) == 1
    await a.boot()  # for the fixture's own shutdown


async def test_one_idempotency_key_sent_to_two_engines_at_once_makes_one_order(
        desk: Desk) -> None:
    a, b = desk.engines
    body = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1}
    answers = await asyncio.gather(a.post_order(body, **{"Idempotency-Key": "twice"}),
                                   b.post_order(body, **{"Idempotency-Key": "twice"}))
    created = [answer for status, answer in answers if status == 201]
    assert created, answers
    ids = {answer["orderId"] for status, answer in answers if status in (200, 201)}
    assert len(ids) == 1 and all(status in (200, 201, 409) for status, _ in answers)
    final = await a.wait_terminal(ids.pop())
    assert final["status"] == "confirmed"


async def test_a_stream_resumes_with_after_on_either_engine(desk: Desk) -> None:
    a, b = desk.engines
    order_id = await a.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
    whole = await a.history(order_id)
    assert whole[-1]["status"] == "confirmed"
    for engine in (a, b):
        assert await engine.history(order_id, after=2) == whole[2:]


async def test_the_scale_out_audit_finds_the_wallet_and_every_fill_as_the_chain_moved_them(
        desk: Desk) -> None:
    """What `chaos.py --processes` judges a run by, on orders executed by both engines."""
    a, b = desk.engines
    orders = [await engine.submit(tokenIn=token_in, tokenOut=token_out, amount=amount)
              for engine, token_in, token_out, amount in (
                  (a, "SOL", "USDC", 1), (b, "USDC", "SOL", 50), (a, "SOL", "JUP", 2))]
    for order_id in orders:
        assert (await a.wait_terminal(order_id))["status"] == "confirmed"
    assert await reconcile_wallet(desk.db, desk.record) == (0, 0)

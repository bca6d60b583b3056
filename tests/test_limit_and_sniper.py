"""Limit orders fill when the price crosses; snipers fire when their token's pool opens."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from conftest import looked_at

from engine.domain import base58
from engine.testing import EngineHarness

SOL_USDC = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "slippage": 0.01}


async def status(engine: EngineHarness, order_id: str) -> str:
    return str((await engine.order(order_id))["status"])


async def limit(engine: EngineHarness, price: str, **extra: Any) -> str:
    return await engine.submit(orderType="limit", limitPrice=price, **SOL_USDC, **extra)


async def test_a_limit_order_waits_and_fills_only_once_the_price_crosses(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()  # 1 SOL nets about 149.92 USDC on Meteora
    order_id = await limit(order_engine, "151")
    await order_engine.wait_for_status(order_id, "waiting")
    await looked_at(order_engine, lambda: order_engine.world.move_price("met-sol-usdc", 1.005),
                    orderType="limit", limitPrice="150.3")  # about 150.6: not yet
    assert await status(order_engine, order_id) == "waiting"
    order_engine.world.move_price("met-sol-usdc", 1.005)  # about 151.4: crossed
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"
    assert Decimal(final["executedPrice"]) >= Decimal(151)
    events = await order_engine.history(order_id)
    statuses = [e["status"] for e in events]
    # pending, then waiting (with a price update for each move that did not cross), then it fires
    assert statuses[0] == "pending" and set(statuses[1:statuses.index("routing")]) == {"waiting"}
    assert events[1]["limitPrice"] == "151"


async def test_a_limit_order_already_in_the_money_fills_at_once(
        order_engine: EngineHarness) -> None:
    final = await order_engine.wait_terminal(await limit(order_engine, "140"))
    assert final["status"] == "confirmed"


async def test_a_limit_order_expires(order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    final = await order_engine.wait_terminal(await limit(order_engine, "200", ttlSeconds=0.2))
    assert final["status"] == "expired"
    assert final["reason"] == "its time to live (0.2 s) ran out before it fired"


async def test_cancel_before_execution_and_409_after(order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    waiting = await limit(order_engine, "200")
    await order_engine.wait_for_status(waiting, "waiting")
    assert order_engine.http is not None
    async with order_engine.http.delete(f"/api/orders/{waiting}") as resp:
        assert resp.status == 200 and (await resp.json())["status"] == "cancelled"
    events = await order_engine.history(waiting)
    assert events[-1]["status"] == "cancelled"
    done = await order_engine.submit(**SOL_USDC)
    await order_engine.wait_terminal(done)
    async with order_engine.http.delete(f"/api/orders/{done}") as resp:
        assert resp.status == 409 and (await resp.json())["error"]["code"] == "ORDER_FINISHED"
    async with order_engine.http.delete("/api/orders/nope") as resp:
        assert resp.status == 404
    # A cancelled order is not filled later, whatever the price does.
    await looked_at(order_engine, lambda: order_engine.world.move_price("met-sol-usdc", 1.5),
                    orderType="limit", limitPrice="160")
    assert await status(order_engine, waiting) == "cancelled"
    assert order_engine.world.chain.history.landed_for(waiting) == []


async def test_waiting_orders_are_rearmed_after_a_restart(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db") as engine:
        engine.world.hold_prices()
        order_id = await limit(engine, "151")
        await engine.wait_for_status(order_id, "waiting")
        await engine.restart()
        assert engine.engine.operations.health().waiting == 1
        engine.world.move_price("met-sol-usdc", 1.011)
        final = await engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"


async def test_a_slippage_failure_puts_a_limit_order_back_to_waiting(
        order_engine: EngineHarness) -> None:
    order_engine.world.faults.force_slippage(attempt=1)
    order_id = await limit(order_engine, "140")
    final = await order_engine.wait_terminal(order_id)
    statuses = [e["status"] for e in await order_engine.history(order_id)]
    assert final["status"] == "confirmed"
    assert statuses[statuses.index("submitted") + 1] == "waiting"  # re-armed, not failed
    assert statuses.count("submitted") == 2
    building = [e for e in await order_engine.history(order_id) if e["status"] == "building"]
    assert [e["attempt"] for e in building] == [1, 2]  # numbering goes on after the re-arm
    assert building[0]["txHash"] != building[1]["txHash"]


def new_mint() -> str:
    return base58.encode(os.urandom(32))


async def snipe(engine: EngineHarness, mint: str, **extra: Any) -> str:
    return await engine.submit(orderType="sniper", tokenIn="SOL", tokenOut=mint, amount=0.5,
                               slippage=0.2, **extra)


async def launch(engine: EngineHarness, **body: Any) -> dict[str, Any]:
    assert engine.http is not None
    async with engine.http.post("/api/sim/launch", json=body) as resp:
        assert resp.status == 201
        return dict(await resp.json())


async def test_a_sniper_fires_in_the_launch_slot_exactly_once(
        order_engine: EngineHarness) -> None:
    mint = new_mint()
    order_id = await snipe(order_engine, mint)
    await order_engine.wait_for_status(order_id, "waiting")
    launched = await launch(order_engine, mint=mint, venue="raydium", price="0.000001",
                            liquidity="100")
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"
    assert final["poolOpenedSlot"] == launched["slot"]
    assert final["slotsAfterPoolOpened"] <= 1
    assert len(order_engine.world.chain.history.landed_for(order_id)) == 1


async def test_the_wallet_shows_a_sniped_token_in_its_mints_decimals(
        order_engine: EngineHarness) -> None:
    mint = new_mint()
    order_id = await snipe(order_engine, mint)
    await order_engine.wait_for_status(order_id, "waiting")
    await launch(order_engine, mint=mint, venue="raydium", price="0.000001", liquidity="100")
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"
    assert order_engine.http is not None
    async with order_engine.http.get("/api/wallet") as resp:
        held = next(b for b in (await resp.json())["balances"] if b["mint"] == mint)
    # Not a listed token, so no symbol; its decimals are the mint's, as the chain reads them.
    assert held["symbol"] is None and held["decimals"] == 6
    assert Decimal(held["amount"]) == Decimal(held["atoms"]).scaleb(-6) == Decimal(
        final["amountOut"])


async def test_a_sniper_does_not_fire_above_its_max_price(order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    mint = new_mint()
    order_id = await snipe(order_engine, mint, maxPrice="0.0000005")  # SOL per token
    probe = await snipe(order_engine, mint, maxPrice="0.000002")  # fires at the launch price
    await order_engine.wait_for_status(order_id, "waiting")
    await order_engine.wait_for_status(probe, "waiting")
    await launch(order_engine, mint=mint, venue="meteora", price="0.000001", liquidity="100")
    await order_engine.wait_for_status(probe, "routing")  # the watcher looked at the pool
    assert await status(order_engine, order_id) == "waiting"
    assert order_engine.world.chain.history.landed_for(order_id) == []


async def test_launch_refuses_a_bad_mint(order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    async with order_engine.http.post("/api/sim/launch", json={"mint": "nope"}) as resp:
        assert resp.status == 422 and (await resp.json())["error"]["code"] == "INVALID_MINT"


async def test_a_launch_scheduled_for_a_later_slot_opens_then_and_the_sniper_fires(
        order_engine: EngineHarness) -> None:
    mint = new_mint()
    order_id = await snipe(order_engine, mint)
    await order_engine.wait_for_status(order_id, "waiting")
    chain = order_engine.world.chain
    launched = await launch(order_engine, mint=mint, venue="meteora", price="0.000001",
                            liquidity="100", slot=chain.block_height + 2)
    assert launched["scheduled"] is True
    assert await status(order_engine, order_id) == "waiting"  # no pool yet
    for _ in range(2):  # other orders land one after the other: a slot each at zero latency
        await order_engine.wait_terminal(await order_engine.submit(**SOL_USDC))
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"
    assert final["poolOpenedSlot"] >= launched["slot"]


async def test_the_harness_waits_for_a_status_and_says_when_it_never_comes(
        order_engine: EngineHarness) -> None:
    done = await order_engine.submit(**SOL_USDC)
    routed = await order_engine.wait_for_status(done, "routing")
    assert routed["venue"] in ("raydium", "meteora")
    try:
        await order_engine.wait_for_status(done, "waiting")  # a market order never waits
    except AssertionError as error:
        assert "without reaching 'waiting'" in str(error)
    else:
        raise AssertionError("waiting for a status the order never reaches did not fail")

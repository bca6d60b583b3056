"""Stop orders: wait, and sell like a market order once the net price falls to the trigger."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from conftest import looked_at

from engine.testing import EngineHarness

SOL_USDC = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "slippage": 0.02}


async def status(engine: EngineHarness, order_id: str) -> str:
    return str((await engine.order(order_id))["status"])


def transitions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An order's events without the price updates its subscribers get (a stream opened to
    wait for a status may still be subscribed when the watcher looks again)."""
    return [e for e in events if not ("currentPrice" in e and "reason" not in e)]


def fall(engine: EngineHarness, factor: float) -> None:
    """SOL gets cheaper on both venues (a factor below 1)."""
    for pool in ("met-sol-usdc", "ray-sol-usdc"):
        engine.world.move_price(pool, factor)


async def stop(engine: EngineHarness, price: str, **extra: Any) -> str:
    return await engine.submit(orderType="stop", triggerPrice=price, **SOL_USDC, **extra)


async def test_a_stop_waits_then_sells_once_when_the_price_falls_to_its_trigger(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()  # 1 SOL nets about 149.92 USDC
    order_id = await stop(order_engine, "147.5")
    await order_engine.wait_for_status(order_id, "waiting")
    assert await status(order_engine, order_id) == "waiting"
    await looked_at(order_engine, lambda: fall(order_engine, 0.99),  # about 148.4: not yet
                    orderType="stop", triggerPrice="149")
    assert await status(order_engine, order_id) == "waiting"
    fall(order_engine, 0.99)  # about 146.9: crossed
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"
    price = Decimal(final["executedPrice"])
    assert Decimal("147.5") * Decimal("0.98") <= price <= Decimal("147.5")  # within slippage
    events = transitions(await order_engine.history(order_id))
    assert [e["status"] for e in events] == ["pending", "waiting", "routing", "building",
                                              "submitted", "confirmed"]
    assert events[1]["triggerPrice"] == "147.5"
    assert len(order_engine.world.chain.history.landed_for(order_id)) == 1


async def test_a_stop_already_below_its_trigger_sells_at_once(
        order_engine: EngineHarness) -> None:
    final = await order_engine.wait_terminal(await stop(order_engine, "160"))
    assert final["status"] == "confirmed"


async def test_a_rising_price_never_fires_a_stop(order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    order_id = await stop(order_engine, "145")
    await order_engine.wait_for_status(order_id, "waiting")
    await looked_at(order_engine, lambda: fall(order_engine, 1.05),  # about 157.4
                    orderType="limit", limitPrice="152")
    assert await status(order_engine, order_id) == "waiting"
    assert order_engine.world.chain.history.landed_for(order_id) == []


async def test_a_stop_can_be_cancelled_and_expires(order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    order_id = await stop(order_engine, "100")
    await order_engine.wait_for_status(order_id, "waiting")
    assert order_engine.http is not None
    async with order_engine.http.delete(f"/api/orders/{order_id}") as resp:
        assert resp.status == 200 and (await resp.json())["status"] == "cancelled"
    final = await order_engine.wait_terminal(await stop(order_engine, "100", ttlSeconds=0.2))
    assert final["status"] == "expired"


async def test_a_waiting_stop_is_rearmed_after_a_restart(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db") as engine:
        engine.world.hold_prices()
        order_id = await stop(engine, "147.5")
        await engine.wait_for_status(order_id, "waiting")
        await engine.restart()
        assert engine.engine.operations.health().waiting == 1
        fall(engine, 0.98)
        final = await engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"


async def test_a_stop_needs_a_trigger_price_in_range(order_engine: EngineHarness) -> None:
    for body, code in (({}, "MISSING_FIELD"), ({"triggerPrice": "0"}, "INVALID_PRICE"),
                       ({"triggerPrice": "1e20"}, "INVALID_PRICE"),
                       ({"triggerPrice": 140, "limitPrice": 150}, "UNKNOWN_FIELD")):
        status_code, payload = await order_engine.post_order(
            {"orderType": "stop", **SOL_USDC, **body})
        assert (status_code, payload["error"]["code"]) == (422, code), body


async def trailing(engine: EngineHarness, trail: str, **extra: Any) -> str:
    return await engine.submit(orderType="trailing_stop", trail=trail, **SOL_USDC, **extra)


async def test_a_trailing_stop_follows_the_price_up_and_sells_on_the_fall_below_its_mark(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()  # SOL nets about 149.9 USDC at the margin
    order_id = await trailing(order_engine, "0.02")
    following = asyncio.create_task(order_engine.history(order_id))  # someone watches it
    first = await order_engine.wait_for_event(order_id, lambda e: "highWaterMark" in e)
    assert first["status"] == "waiting"
    start = Decimal(first["highWaterMark"])
    fall(order_engine, 1.03)  # up 3 %: the mark and the trigger follow
    await order_engine.wait_for_event(
        order_id, lambda e: Decimal(e.get("highWaterMark", 0)) > start * Decimal("1.025"))
    risen = await order_engine.order(order_id)
    assert Decimal(risen["triggerPrice"]) == Decimal(risen["highWaterMark"]) * Decimal("0.98")
    top = Decimal(risen["highWaterMark"])
    await looked_at(order_engine, lambda: fall(order_engine, 0.99),  # 1 % off the top: it holds
                    orderType="stop", triggerPrice=str(round(top * Decimal("0.995"), 2)))
    assert await status(order_engine, order_id) == "waiting"
    fall(order_engine, 0.985)  # 2.5 % off the top: below the trigger, it sells once
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"
    assert Decimal(final["executedPrice"]) <= Decimal(risen["triggerPrice"])
    events = await following
    moves = [e for e in events if e["status"] == "waiting" and "highWaterMark" in e]
    assert 2 <= len(moves) <= 40  # shown when the mark moves 0.1 %, not on every tick
    assert Decimal(moves[-1]["highWaterMark"]) == Decimal(risen["highWaterMark"])
    assert len(order_engine.world.chain.history.landed_for(order_id)) == 1


async def test_a_trailing_stops_mark_survives_a_restart(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db") as engine:
        engine.world.hold_prices()
        order_id = await trailing(engine, "0.05")
        start = Decimal((await engine.wait_for_event(
            order_id, lambda e: "highWaterMark" in e))["highWaterMark"])
        fall(engine, 1.04)
        await engine.wait_for_event(  # the mark follows the rise (shown every 0.1 %)
            order_id, lambda e: Decimal(e.get("highWaterMark", 0)) > start * Decimal("1.035"))
        before = Decimal((await engine.order(order_id))["highWaterMark"])
        await engine.restart()
        # 3 % below the kept mark: above a fresh mark's trigger, it holds
        await looked_at(engine, lambda: fall(engine, 0.97), orderType="stop",
                        triggerPrice=str(round(before * Decimal("0.98"), 2)))
        after = await engine.order(order_id)
        assert after["status"] == "waiting" and Decimal(after["highWaterMark"]) == before
        fall(engine, 0.97)  # about 6 % below the mark: it sells
        final = await engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"


async def test_a_trailing_stop_needs_a_trail_between_0_and_half(
        order_engine: EngineHarness) -> None:
    for body, code in (({}, "MISSING_FIELD"), ({"trail": 0}, "INVALID_TRAIL"),
                       ({"trail": 0.5}, "INVALID_TRAIL"), ({"trail": "١"}, "INVALID_NUMBER"),
                       ({"trail": 0.02, "triggerPrice": 100}, "UNKNOWN_FIELD")):
        status_code, payload = await order_engine.post_order(
            {"orderType": "trailing_stop", **SOL_USDC, **body})
        assert (status_code, payload["error"]["code"]) == (422, code), body


async def bracket(engine: EngineHarness, take_profit: str, stop_price: str) -> str:
    return await engine.submit(orderType="bracket", takeProfitPrice=take_profit,
                               stopPrice=stop_price, **SOL_USDC)


async def test_a_bracket_takes_profit_when_the_price_rises_and_its_stop_never_fires(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()  # about 149.9
    order_id = await bracket(order_engine, "152", "147")
    await order_engine.wait_for_status(order_id, "waiting")
    assert await status(order_engine, order_id) == "waiting"
    fall(order_engine, 1.02)  # about 152.9: the take-profit leg
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed" and Decimal(final["executedPrice"]) >= Decimal(152)
    events = await order_engine.history(order_id)
    routed = [e for e in events if e["status"] == "routing"]
    assert [e["leg"] for e in routed] == ["take_profit"]
    assert events[1]["takeProfitPrice"] == "152" and events[1]["stopPrice"] == "147"
    await looked_at(order_engine, lambda: fall(order_engine, 0.9),  # far below its stop now
                    orderType="stop", triggerPrice="140")
    assert len(order_engine.world.chain.history.landed_for(order_id)) == 1  # nothing else


async def test_a_bracket_stops_out_when_the_price_falls(order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    order_id = await bracket(order_engine, "152", "147")
    await order_engine.wait_for_status(order_id, "waiting")
    fall(order_engine, 0.975)  # about 146.2: the stop leg
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"
    routed = [e for e in await order_engine.history(order_id) if e["status"] == "routing"]
    assert [e["leg"] for e in routed] == ["stop"]


async def test_cancelling_a_bracket_cancels_both_legs(order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    order_id = await bracket(order_engine, "152", "147")
    await order_engine.wait_for_status(order_id, "waiting")
    assert order_engine.http is not None
    async with order_engine.http.delete(f"/api/orders/{order_id}") as resp:
        assert resp.status == 200
    assert order_engine.engine.operations.health().waiting == 0
    await looked_at(order_engine, lambda: fall(order_engine, 0.9), orderType="stop",
                    triggerPrice="140")
    assert order_engine.world.chain.history.landed_for(order_id) == []


async def test_a_brackets_take_profit_must_be_above_its_stop(order_engine: EngineHarness) -> None:
    for body, code in (({"takeProfitPrice": 140, "stopPrice": 150}, "INVALID_BRACKET"),
                       ({"takeProfitPrice": 150}, "MISSING_FIELD"),
                       ({"takeProfitPrice": 150, "stopPrice": "0"}, "INVALID_PRICE")):
        status_code, payload = await order_engine.post_order(
            {"orderType": "bracket", **SOL_USDC, **body})
        assert (status_code, payload["error"]["code"]) == (422, code), body


async def test_a_waiting_bracket_is_rearmed_on_both_legs_after_a_restart(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db") as engine:
        engine.world.hold_prices()
        order_id = await bracket(engine, "152", "147")
        await engine.wait_for_status(order_id, "waiting")
        await engine.restart()
        fall(engine, 0.975)
        final = await engine.wait_terminal(order_id)
        record = await engine.order(order_id)
    assert final["status"] == "confirmed"
    assert record["takeProfitPrice"] == "152" and record["stopPrice"] == "147"

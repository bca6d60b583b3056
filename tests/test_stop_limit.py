"""Stop-limit orders: once the net price falls to `triggerPrice`, the order becomes a limit
order at `limitPrice`. It never sells into a gap below its limit; it waits for the price to
come back, and a restart finds it a limit order still."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import looked_at

from engine.domain.order_types import StopLimit, Watch
from engine.testing import EngineHarness

SELL = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "slippage": 0.02}
AT = datetime(2026, 1, 1, tzinfo=UTC)


def move(engine: EngineHarness, factor: float) -> None:
    """SOL's price on both venues, times `factor`."""
    for pool in ("met-sol-usdc", "ray-sol-usdc"):
        engine.world.move_price(pool, factor)


def transitions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An order's events without the price updates its subscribers get (a stream opened to
    wait for a status may still be subscribed when the watcher looks again)."""
    return [e for e in events if not ("currentPrice" in e and "reason" not in e)]


async def stop_limit(engine: EngineHarness, trigger: str, limit: str) -> str:
    return await engine.submit(orderType="stop_limit", triggerPrice=trigger, limitPrice=limit,
                               **SELL)


async def triggered(engine: EngineHarness, order_id: str) -> dict[str, Any]:
    """The event saying the order was triggered and is a limit order now."""
    return await engine.wait_for_event(order_id, lambda event: "triggeredAt" in event,
                                       "being triggered")


def test_the_type_waits_for_the_fall_then_for_its_limit() -> None:
    order = StopLimit(trigger=Decimal(100), limit=Decimal(98))
    assert order.watch(None) == Watch(falls_to=Decimal(100))
    assert order.moved(Decimal(101), None) is None  # above the trigger: nothing happens
    assert not order.met(Decimal(101), None)
    assert order.moved(Decimal(99), None) == Decimal(99)  # triggered at 99...
    assert order.watch(Decimal(99)) == Watch(rises_to=Decimal(98))  # ...a limit at 98 now
    assert order.met(Decimal(99), Decimal(99))
    assert not order.met(Decimal(97), Decimal(99))  # a gap below the limit: it waits
    assert order.moved(Decimal(90), Decimal(99)) is None  # triggered once, for good
    assert StopLimit.from_record(order.record()) == order


async def test_it_waits_above_its_trigger_and_sells_at_once_when_the_fall_meets_its_limit(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()  # 1 SOL nets about 149.9 USDC
    order_id = await stop_limit(order_engine, "147.5", "145")
    await order_engine.wait_for_status(order_id, "waiting")
    move(order_engine, 0.98)  # about 146.9: triggered, and above the limit
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"
    assert Decimal(final["executedPrice"]) >= Decimal(145) * Decimal("0.98")
    events = transitions(await order_engine.history(order_id))
    assert [e["status"] for e in events] == ["pending", "waiting", "waiting", "routing",
                                              "building", "submitted", "confirmed"]
    assert events[1]["reason"] == "armed: waiting for the net price to fall to 147.5"
    assert Decimal(events[2]["triggeredAt"]) <= Decimal("147.5")
    assert events[2]["limitPrice"] == "145"
    assert len(order_engine.world.chain.history.landed_for(order_id)) == 1


async def test_a_gap_below_its_limit_sells_nothing_until_the_price_comes_back(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    order_id = await stop_limit(order_engine, "147.5", "145")
    await order_engine.wait_for_status(order_id, "waiting")
    await looked_at(order_engine, lambda: move(order_engine, 0.95), orderType="stop",
                    triggerPrice="143")  # about 142.4: triggered, but below the limit
    assert Decimal((await triggered(order_engine, order_id))["triggeredAt"]) < 145
    assert (await order_engine.order(order_id))["status"] == "waiting"
    assert order_engine.world.chain.history.landed_for(order_id) == []
    move(order_engine, 1.03)  # about 146.7: back above the limit (and the trigger no more)
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"
    assert Decimal(final["executedPrice"]) >= Decimal(145) * Decimal("0.98")


async def test_a_price_that_never_falls_to_the_trigger_sells_nothing(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    order_id = await stop_limit(order_engine, "140", "139")
    await order_engine.wait_for_status(order_id, "waiting")
    await looked_at(order_engine, lambda: move(order_engine, 1.05), orderType="limit",
                    limitPrice="152")
    order = await order_engine.order(order_id)
    assert order["status"] == "waiting" and "triggeredAt" not in order
    assert order_engine.world.chain.history.landed_for(order_id) == []


async def test_once_triggered_it_is_a_limit_order_after_a_restart(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db") as engine:
        engine.world.hold_prices()
        order_id = await stop_limit(engine, "147.5", "145")
        move(engine, 0.95)  # triggered below the limit: it waits as a limit order
        at = (await triggered(engine, order_id))["triggeredAt"]
        await engine.restart()
        order = await engine.order(order_id)
        assert (order["status"], order["triggeredAt"]) == ("waiting", at)
        move(engine, 1.03)  # above the limit, below the trigger: only a limit order sells
        assert (await engine.wait_terminal(order_id))["status"] == "confirmed"


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"triggerPrice": 140}, "limitPrice", "MISSING_FIELD"),
    ({"limitPrice": 140}, "triggerPrice", "MISSING_FIELD"),
    ({"triggerPrice": 140, "limitPrice": 141}, "limitPrice", "INVALID_STOP_LIMIT"),
    ({"triggerPrice": 140, "limitPrice": 0}, "limitPrice", "INVALID_PRICE"),
    ({"triggerPrice": 140, "limitPrice": 139, "trail": 0.1}, "trail", "UNKNOWN_FIELD"),
])
async def test_bad_terms_are_refused_naming_the_field(
        order_engine: EngineHarness, body: dict[str, Any], field: str, code: str) -> None:
    status, payload = await order_engine.post_order({"orderType": "stop_limit", **SELL, **body})
    assert status == 422, payload
    assert (payload["error"]["field"], payload["error"]["code"]) == (field, code)

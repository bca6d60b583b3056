"""TWAP orders: the amount sold in timed slices, each a child market order of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest_asyncio
from conftest import run_until

from engine.app import open_store
from engine.commands import cli
from engine.config import Settings
from engine.domain.events import Armed, SliceSent
from engine.domain.order import Order
from engine.domain.parsing import parse_order
from engine.domain.status import OrderStatus as S
from engine.orders.twap import child_id
from engine.testing import EngineHarness, ManualClock

TWAP = {"orderType": "twap", "tokenIn": "SOL", "tokenOut": "USDC", "slippage": 0.02}


@pytest_asyncio.fixture
async def twap_engine(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with EngineHarness.start(tmp_path / "e.db", clock=ManualClock()) as engine:
        engine.world.hold_prices()
        yield engine


async def settle() -> None:
    """Let the schedule, the workers and the store's threads catch up (no clock moves)."""
    for _ in range(20):
        await asyncio.sleep(0.005)


async def until(engine: EngineHarness, parent_id: str,
                check: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The parent, once `check` holds for it (a loaded machine may take more than a settle)."""
    return await engine.wait_until(lambda: engine.order(parent_id), check)


def sent(count: int) -> Callable[[dict[str, Any]], bool]:
    """The parent has sent `count` slices, and the last of them has ended."""
    def check(parent: dict[str, Any]) -> bool:
        done = [e for e in parent["events"] if e.get("childStatus")]
        return len(parent["children"]) == count and len(done) == count
    return check


async def run_slices(engine: EngineHarness, count: int, interval: float) -> None:
    """Let `count` intervals pass, the children of each slice executing in between."""
    assert isinstance(engine.clock, ManualClock)
    await settle()
    for _ in range(count):
        await engine.clock.advance(interval)
        await settle()


def sol_price(engine: EngineHarness, factor: float) -> None:
    for pool in ("met-sol-usdc", "ray-sol-usdc"):
        engine.world.move_price(pool, factor)


async def children(engine: EngineHarness, parent: dict[str, Any]) -> list[dict[str, Any]]:
    return [await engine.order(child) for child in parent["children"]]


async def test_a_twap_sells_in_n_slices_and_its_fill_is_the_sum_of_its_childrens(
        twap_engine: EngineHarness) -> None:
    usdc = twap_engine.world.chain.wallet.balances[
        "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"]
    parent_id = await twap_engine.submit(**TWAP, amount="1.000000003", slices=4,
                                         intervalSeconds=60)
    await run_slices(twap_engine, 4, 60)
    final = await twap_engine.wait_terminal(parent_id)
    assert final["status"] == "confirmed", final
    parent = await twap_engine.order(parent_id)
    kids = await children(twap_engine, parent)
    assert [k["status"] for k in kids] == ["confirmed"] * 4
    assert [k["amount"] for k in kids] == ["0.25", "0.25", "0.25", "0.250000003"]
    assert all(k["parentId"] == parent_id and k["orderType"] == "market" for k in kids)
    assert Decimal(parent["filled"]) == sum(Decimal(k["fill"]["amountIn"]) for k in kids)
    received = sum(Decimal(k["fill"]["amountOut"]) for k in kids)
    assert Decimal(parent["received"]) == received and parent["remaining"] == "0"
    assert abs(Decimal(parent["averagePrice"]) - received / Decimal("1.000000003")) < Decimal("1e-8")
    gained = twap_engine.world.chain.wallet.balances[
        "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"] - usdc
    assert gained == int(received * 10**6)
    for kid in kids:
        assert len(twap_engine.world.chain.history.landed_for(kid["orderId"])) == 1


async def test_slices_are_spaced_by_the_interval(twap_engine: EngineHarness) -> None:
    parent_id = await twap_engine.submit(**TWAP, amount=1, slices=3, intervalSeconds=30)
    await until(twap_engine, parent_id, sent(1))  # the first at once
    await run_slices(twap_engine, 1, 29)
    assert len((await twap_engine.order(parent_id))["children"]) == 1
    await run_slices(twap_engine, 1, 1)
    await until(twap_engine, parent_id, sent(2))


async def test_a_slice_below_the_limit_price_is_skipped_and_carried_to_the_next(
        twap_engine: EngineHarness) -> None:
    # 1 SOL nets about 149.9 USDC now: a limit of 152 skips until SOL rises 3 %.
    parent_id = await twap_engine.submit(**TWAP, amount=1, slices=2, intervalSeconds=10,
                                         limitPrice=152)
    parent = await until(twap_engine, parent_id,
                         lambda p: any(e.get("slice") == 1 for e in p["events"]))
    skipped = [e for e in parent["events"] if e.get("slice") == 1]
    assert "below limitPrice" in skipped[0]["reason"] and parent["children"] == []
    sol_price(twap_engine, 1.03)
    await run_slices(twap_engine, 1, 10)
    final = await twap_engine.wait_terminal(parent_id)
    assert final["status"] == "confirmed"
    [child] = await children(twap_engine, await twap_engine.order(parent_id))
    assert child["amount"] == "1"  # its own half and the half carried
    assert Decimal(child["fill"]["executedPrice"]) >= Decimal(152) * Decimal("0.98")


async def test_a_schedule_that_cannot_sell_everything_ends_partially_filled(
        twap_engine: EngineHarness) -> None:
    parent_id = await twap_engine.submit(**TWAP, amount=1, slices=2, intervalSeconds=10,
                                         limitPrice=149)
    await until(twap_engine, parent_id, sent(1))
    sol_price(twap_engine, 0.95)  # the second slice is below the limit
    await run_slices(twap_engine, 1, 10)
    final = await twap_engine.wait_terminal(parent_id)
    assert final["status"] == "partially_filled"
    assert final["filled"] == "0.5" and final["remaining"] == "0.5"
    assert "unsold" in final["reason"]
    # A script that follows it learns it did not fill: `watch` exits 1, as the README says.
    assert await asyncio.to_thread(cli.main, ["watch", parent_id, "--url", twap_engine.url]) == 1


async def test_a_schedule_that_sells_nothing_fails_with_not_filled(
        twap_engine: EngineHarness) -> None:
    parent_id = await twap_engine.submit(**TWAP, amount=1, slices=2, intervalSeconds=10,
                                         limitPrice=500)
    await run_slices(twap_engine, 1, 10)
    final = await twap_engine.wait_terminal(parent_id)
    assert final["status"] == "failed" and final["error"]["code"] == "NOT_FILLED"


async def test_a_slice_whose_child_failed_says_why(twap_engine: EngineHarness) -> None:
    twap_engine.world.faults.force_slippage()  # the first child's swap slips
    parent_id = await twap_engine.submit(**TWAP, amount=1, slices=2, intervalSeconds=10)
    await run_slices(twap_engine, 1, 10)
    await twap_engine.wait_terminal(parent_id)
    failed, sold = [e for e in await twap_engine.history(parent_id) if "childStatus" in e]
    assert failed["childStatus"] == "failed"
    assert failed["childError"]["code"] == "SLIPPAGE_EXCEEDED" and failed["childError"]["message"]
    assert sold["childStatus"] == "confirmed" and "childError" not in sold


async def test_cancelling_the_parent_stops_the_slices_not_yet_sent(
        twap_engine: EngineHarness) -> None:
    parent_id = await twap_engine.submit(**TWAP, amount=1, slices=5, intervalSeconds=60)
    await run_slices(twap_engine, 1, 60)
    await until(twap_engine, parent_id, sent(2))
    assert twap_engine.http is not None
    async with twap_engine.http.delete(f"/api/orders/{parent_id}") as resp:
        assert resp.status == 200
    await run_slices(twap_engine, 5, 60)
    parent = await twap_engine.order(parent_id)
    assert parent["status"] == "cancelled" and len(parent["children"]) == 2
    kids = await children(twap_engine, parent)
    assert [k["status"] for k in kids] == ["confirmed"] * 2
    # Its last event says what it sold by then, as its slices did
    last = parent["events"][-1]
    assert last["status"] == "cancelled" and "openChildId" not in last
    assert Decimal(last["filled"]) == sum(Decimal(k["fill"]["amountIn"]) for k in kids)
    assert Decimal(last["received"]) == sum(Decimal(k["fill"]["amountOut"]) for k in kids)
    assert Decimal(last["remaining"]) == 1 - Decimal(last["filled"])


async def test_a_parent_cancelled_with_a_slice_in_flight_names_it_and_it_still_fills(
        tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", clock=ManualClock(),
                                   latency_scale=1.0) as engine:
        engine.world.hold_prices()
        parent_id = await engine.submit(**TWAP, amount=1, slices=2, intervalSeconds=60)
        # The first slice is sent at once; at seed latencies its child has not landed yet
        in_flight = await until(engine, parent_id, lambda p: len(p["children"]) == 1)
        [child] = in_flight["children"]
        assert engine.http is not None
        async with engine.http.delete(f"/api/orders/{parent_id}") as resp:
            assert resp.status == 200
        last = (await engine.order(parent_id))["events"][-1]
        assert last["status"] == "cancelled" and last["openChildId"] == child
        assert (last["filled"], last["remaining"]) == ("0", "1")
        async def child_confirmed() -> bool:
            return (await engine.order(child))["status"] == "confirmed"

        await run_until(engine, child_confirmed)
        assert (await engine.order(parent_id))["events"][-1] == last  # it ended at the cancel


async def test_a_restart_mid_schedule_neither_repeats_nor_loses_a_slice(
        twap_engine: EngineHarness) -> None:
    parent_id = await twap_engine.submit(**TWAP, amount=1, slices=4, intervalSeconds=60)
    await run_slices(twap_engine, 1, 60)
    await until(twap_engine, parent_id, sent(2))
    await twap_engine.restart()
    await run_slices(twap_engine, 3, 60)
    final = await twap_engine.wait_terminal(parent_id)
    assert final["status"] == "confirmed" and final["filled"] == "1"
    kids = await children(twap_engine, await twap_engine.order(parent_id))
    assert [k["orderId"] for k in kids] == [child_id(parent_id, n) for n in range(4)]
    assert sum(len(twap_engine.world.chain.history.landed_for(k["orderId"])) for k in kids) == 4


async def test_a_slice_recorded_before_a_crash_gets_its_child_once_after_restart(
        tmp_path: Path) -> None:
    """The engine died between recording slice 1 and creating its child: the restart
    creates the child (once), and the schedule carries on."""
    clock = ManualClock()
    settings = Settings(db=str(tmp_path / "e.db"))
    store = await open_store(settings)
    request = parse_order({**TWAP, "amount": 1, "slices": 2, "intervalSeconds": 10},
                          clock.now())
    parent, event = Order.accept("4d8ba0d1-2b8f-4a0b-9f70-2a1f4b6bb0a1", request, clock.now())
    await store.create(parent, event)
    for change in (Armed("scheduled"), SliceSent(0, child_id(parent.id, 0), 500_000_000)):
        previous = parent.status
        parent, event = parent.apply(change, clock.now())
        await store.record(parent, event, previous)
    await store.close()
    async with EngineHarness.start(tmp_path / "e.db", clock=clock) as engine:
        engine.world.hold_prices()
        await run_slices(engine, 1, 10)
        final = await engine.wait_terminal(parent.id)
        assert final["status"] == "confirmed"
        kids = await children(engine, await engine.order(parent.id))
        assert [k["status"] for k in kids] == ["confirmed", "confirmed"]
        assert kids[0]["orderId"] == child_id(parent.id, 0)


async def test_a_twap_expires_when_its_time_runs_out_before_the_schedule(
        twap_engine: EngineHarness) -> None:
    parent_id = await twap_engine.submit(**TWAP, amount=1, slices=4, intervalSeconds=60,
                                         ttlSeconds=90)
    await run_slices(twap_engine, 2, 60)
    final = await twap_engine.wait_terminal(parent_id)
    assert final["status"] == "expired" and "slice 3" in final["reason"]
    assert len((await twap_engine.order(parent_id))["children"]) == 2


async def test_halted_trading_skips_a_slice_and_carries_it(twap_engine: EngineHarness) -> None:
    parent_id = await twap_engine.submit(**TWAP, amount=1, slices=2, intervalSeconds=10)
    await until(twap_engine, parent_id, sent(1))
    assert twap_engine.http is not None
    async with twap_engine.http.put("/api/risk", json={"state": "halted"}) as resp:
        assert resp.status == 200
    await run_slices(twap_engine, 1, 10)
    final = await twap_engine.wait_terminal(parent_id)
    assert final["status"] == "partially_filled" and final["remaining"] == "0.5"


async def test_bad_twap_requests_are_refused_with_the_field_named(
        twap_engine: EngineHarness) -> None:
    base = {**TWAP, "amount": 1, "slices": 4, "intervalSeconds": 60}
    cases = [
        ({**base, "slices": 1}, "INVALID_SLICES", "slices"),
        ({**base, "slices": 1001}, "INVALID_SLICES", "slices"),
        ({**base, "slices": 2.5}, "INVALID_SLICES", "slices"),
        ({**base, "slices": True}, "INVALID_TYPE", "slices"),
        ({**base, "intervalSeconds": 0}, "INVALID_INTERVAL", "intervalSeconds"),
        ({**base, "intervalSeconds": 86_401}, "INVALID_INTERVAL", "intervalSeconds"),
        ({k: v for k, v in base.items() if k != "slices"}, "MISSING_FIELD", "slices"),
        ({**base, "amount": "0.000000003"}, "INVALID_SLICES", "slices"),
        ({**base, "limitPrice": 0}, "INVALID_PRICE", "limitPrice"),
        ({**base, "swapMode": "ExactOut"}, "UNKNOWN_FIELD", "swapMode"),
    ]
    for body, code, field in cases:
        status, answer = await twap_engine.post_order(body)
        assert (status, answer["error"]["code"], answer["error"].get("field")) == (
            422, code, field), (body, answer)
    assert (await twap_engine.post_order({**base, "slices": "1000"}))[0] == 201


async def test_the_parent_streams_each_slice(twap_engine: EngineHarness) -> None:
    parent_id = await twap_engine.submit(**TWAP, amount=1, slices=2, intervalSeconds=10)
    await run_slices(twap_engine, 1, 10)
    events = await twap_engine.history(parent_id)
    assert [e["status"] for e in events] == ["pending", "waiting", "waiting", "waiting",
                                             "waiting", "waiting", "confirmed"]
    assert events[1]["slices"] == 2 and events[1]["intervalSeconds"] == 10
    sent = [e for e in events if "childStatus" not in e and "childId" in e]
    assert [e["slice"] for e in sent] == [1, 2]
    assert events[-1]["children"] == [child_id(parent_id, 0), child_id(parent_id, 1)]
    assert S.PARTIALLY_FILLED.terminal

"""The price watcher on its own: a real Router over a fake venue whose price the test sets, and
its collaborators recorded. A limit fires once its net price is reached and not before, a stop
once the price falls to it, nothing fires while trading is held, a disarmed order is forgotten.
No engine, no store, no HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from stubs import SOL, USDC, OnePool

from engine.clock import SystemClock
from engine.domain.errors import NodeUnhealthy
from engine.domain.events import Armed, TriggerMoved
from engine.domain.order import Order
from engine.domain.parsing import parse_order
from engine.orders import long_lived
from engine.orders.halt import TradingSwitch
from engine.orders.router import Router
from engine.orders.watcher import LOOK_AGAIN_SECONDS, Watcher
from engine.ports import Clock, StorageError
from engine.testing import ManualClock

AT = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Recorded:
    """The watcher's collaborators: the queue it fires into and the order service's steps."""

    fired: list[Order] = field(default_factory=list)
    moves: list[tuple[str, Decimal]] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    trading: TradingSwitch = field(default_factory=TradingSwitch)

    @property
    def fired_ids(self) -> list[str]:
        return [order.id for order in self.fired]

    def fire(self, order: Order) -> None:
        self.fired.append(order)

    async def update_waiting(self, order: Order, price: Decimal) -> Order:
        return order

    async def move(self, order: Order, mark: Decimal) -> Order:
        self.moves.append((order.id, mark))
        return order.apply(TriggerMoved(mark), AT)[0]

    async def expire(self, order_id: str, reason: str) -> None:
        self.expired.append(order_id)


def waiting(order_id: str, body: dict[str, Any]) -> Order:
    request = parse_order({"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, **body}, AT)
    order, _ = Order.accept(order_id, request, AT)
    return order.apply(Armed("armed"), AT)[0]


def watcher(pool: OnePool, recorded: Recorded, clock: Clock | None = None) -> Watcher:
    async def keep_marks(marks: list[tuple[str, Decimal]]) -> None:
        return None

    return Watcher(Router([pool]), clock or SystemClock(), recorded, recorded.fire, lambda: (),
                   keep_marks, recorded.trading)


async def until(condition: Callable[[], object], turns: int = 10_000) -> bool:
    for _ in range(turns):
        if condition():
            return True
        await asyncio.sleep(0)
    return False


async def test_a_limit_fires_once_its_price_is_reached_and_not_before() -> None:
    pool, recorded = OnePool(Decimal(150)), Recorded()
    watch = watcher(pool, recorded)
    watch.arm(waiting("limit", {"orderType": "limit", "limitPrice": "155"}))
    watch.pools_changed(None)
    assert await until(lambda: pool.asked)  # it looked, and 150 < 155: it waits
    assert not await until(lambda: recorded.fired, turns=200)
    pool.usdc_per_sol = Decimal(156)
    watch.pools_changed({frozenset((SOL, USDC))})
    assert await until(lambda: recorded.fired_ids == ["limit"])
    assert watch.waiting == 0  # fired orders leave the book
    await watch.stop()


async def test_a_limit_fires_when_a_small_quote_would_round_its_price_away() -> None:
    # A thousandth of the input pays 1.15 atoms, rounded down to 1: that quote says 0.001,
    # below the limit, where the order's own amount nets 0.00115, above it.
    pool, recorded = OnePool(Decimal("0.00115")), Recorded()
    watch = watcher(pool, recorded)
    watch.arm(waiting("limit", {"orderType": "limit", "limitPrice": "0.0011"}))
    watch.pools_changed(None)
    assert await until(lambda: recorded.fired_ids == ["limit"])
    await watch.stop()


async def test_a_look_that_could_ask_no_venue_is_made_again_without_a_pool_moving() -> None:
    # The price crossed while the node was away: the pools will not move again to say so, so
    # the watcher looks again by itself (it waited for the next move, for ever in a still market).
    pool, recorded, clock = OnePool(Decimal(156)), Recorded(), ManualClock()
    pool.quote_faults += [NodeUnhealthy("getMultipleAccounts: Cannot connect")] * 2  # a look
    watch = watcher(pool, recorded, clock)
    watch.arm(waiting("limit", {"orderType": "limit", "limitPrice": "155"}))
    assert not await until(lambda: recorded.fired, turns=200)
    await clock.advance(LOOK_AGAIN_SECONDS)
    assert await until(lambda: recorded.fired_ids == ["limit"])
    await watch.stop()


async def test_a_stop_fires_once_the_price_falls_to_it() -> None:
    pool, recorded = OnePool(Decimal(150)), Recorded()
    watch = watcher(pool, recorded)
    watch.arm(waiting("stop", {"orderType": "stop", "triggerPrice": "120"}))
    watch.pools_changed(None)
    assert await until(lambda: pool.asked)
    assert not await until(lambda: recorded.fired, turns=200)
    pool.usdc_per_sol = Decimal(119)
    watch.pools_changed(None)
    assert await until(lambda: recorded.fired_ids == ["stop"])
    await watch.stop()


async def test_nothing_fires_while_trading_is_held_and_a_disarmed_order_is_gone() -> None:
    pool, recorded = OnePool(Decimal(160)), Recorded()
    watch = watcher(pool, recorded)
    recorded.trading.halted = True
    watch.arm(waiting("held", {"orderType": "limit", "limitPrice": "155"}))
    watch.arm(waiting("dropped", {"orderType": "limit", "limitPrice": "155"}))
    watch.pools_changed(None)
    assert await until(lambda: pool.asked)  # the price is met, but trading is held
    assert not await until(lambda: recorded.fired, turns=200)
    assert watch.disarm("dropped") is not None and watch.waiting == 1
    recorded.trading.halted = False
    watch.pools_changed(None)
    assert await until(lambda: recorded.fired_ids == ["held"])
    await watch.stop()


async def test_a_trailing_stop_follows_the_best_price_and_fires_from_its_kept_mark() -> None:
    pool, recorded = OnePool(Decimal(150)), Recorded()
    watch = watcher(pool, recorded)
    watch.arm(waiting("trail", {"orderType": "trailing_stop", "trail": "0.1"}))
    watch.pools_changed(None)
    assert await until(lambda: pool.asked)
    for price in (200, 181):  # the mark follows the price up, and a fall of less than the
        looked = pool.asked  # trail fires nothing
        pool.usdc_per_sol = Decimal(price)
        watch.pools_changed(None)
        assert await until(lambda looked=looked: pool.asked > looked)
    assert not await until(lambda: recorded.fired, turns=300)
    pool.usdc_per_sol = Decimal(180)  # 10 % below the best price seen
    watch.pools_changed(None)
    assert await until(lambda: recorded.fired_ids == ["trail"])
    assert recorded.fired[0].mark == Decimal(200)  # the worker judges it by the same mark
    assert recorded.moves[-1] == ("trail", Decimal(200))
    await watch.stop()


async def test_a_stop_limit_is_triggered_by_the_fall_then_waits_as_a_limit_order() -> None:
    pool, recorded = OnePool(Decimal(150)), Recorded()
    watch = watcher(pool, recorded)
    watch.arm(waiting("sl", {"orderType": "stop_limit", "triggerPrice": "140",
                             "limitPrice": "135"}))
    watch.pools_changed(None)
    assert await until(lambda: pool.asked)
    pool.usdc_per_sol = Decimal(130)  # through the trigger and below the limit: a gap
    watch.pools_changed(None)
    assert await until(lambda: recorded.moves == [("sl", Decimal(130))])  # triggered, kept
    assert not await until(lambda: recorded.fired, turns=300)
    pool.usdc_per_sol = Decimal(136)  # back above the limit (and above nothing it fell to)
    watch.pools_changed(None)
    assert await until(lambda: recorded.fired_ids == ["sl"])
    assert recorded.fired[0].mark == Decimal(130) and len(recorded.moves) == 1
    await watch.stop()


def test_waiting_orders_leave_the_collectors_full_passes_every_thousand(
        monkeypatch: pytest.MonkeyPatch) -> None:
    freezes: list[int] = []
    monkeypatch.setattr(long_lived.gc, "freeze", lambda: freezes.append(1))
    kept = long_lived.LongLived(every=1_000)
    for _ in range(2_999):
        kept.arrived()
    assert len(freezes) == 2  # at the 1,000th and the 2,000th


async def test_an_expiry_the_store_refuses_leaves_the_order_watched_and_is_tried_again() -> None:
    pool, recorded = OnePool(Decimal(150)), Recorded()
    refusals = [StorageError("database or disk is full")] * 2

    async def expire(order_id: str, reason: str) -> None:
        if refusals:
            raise refusals.pop()
        recorded.expired.append(order_id)

    recorded.expire = expire  # type: ignore[method-assign]
    clock = ManualClock(AT)

    async def keep_marks(marks: list[tuple[str, Decimal]]) -> None:
        return None

    watch = Watcher(Router([pool]), clock, recorded, recorded.fire, lambda: (), keep_marks,
                    recorded.trading)
    watch.arm(waiting("ttl", {"orderType": "limit", "limitPrice": "500", "ttlSeconds": 60}))
    await until(lambda: pool.asked)  # armed and looked at once; its expirer is running
    await clock.advance(60)  # its time is up, looked at every 0.5 s: the first try is refused
    assert len(refusals) == 1 and recorded.expired == []
    assert watch.waiting == 1  # still waiting, still watched
    await clock.advance(0.5)  # refused once more
    assert refusals == [] and recorded.expired == [] and watch.waiting == 1
    await clock.advance(0.5)  # written: only now is it disarmed
    assert recorded.expired == ["ttl"] and watch.waiting == 0
    await watch.stop()

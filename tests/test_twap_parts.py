"""The TWAP scheduler on its own: a real order service and SQLite store, a fake pool whose
price the test sets, a manual clock, and a queue that runs each slice at once. No engine, no
HTTP. Each slice is a market order of its own, sent at its time; a slice the price or a halt
refuses is skipped and its amount carried to the next."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest_asyncio
from stubs import OnePool
from test_order_service_parts import ScriptedChain

from engine.access.limits import Buckets
from engine.api.wire import EVENTS
from engine.domain.errors import NodeUnhealthy
from engine.domain.events import OrderEvent, SliceSkipped, StoredEvent
from engine.domain.order import Order
from engine.domain.parsing import parse_order
from engine.domain.status import OrderStatus as S
from engine.orders.fanout import Fanout
from engine.orders.halt import TradingSwitch
from engine.orders.retry import RetryPolicy
from engine.orders.router import Router
from engine.orders.service import OrderService
from engine.orders.storage_outage import StorageOutage
from engine.orders.twap import TwapScheduler, child_id
from engine.store.sqlite import SqliteStore
from engine.testing import ManualClock


@dataclass
class RunAtOnce:
    """The workers' queue, as the scheduler sees it: each slice executed as it is queued."""

    service: OrderService | None = None
    children: list[Order] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def reserve(self, *, scheduled: bool = False) -> None:
        return None

    def release(self) -> None:
        return None

    def enqueue(self, order: Order, *, reserved: bool = False, urgent: bool = False) -> None:
        task = asyncio.create_task(self._run(order))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, order: Order) -> None:
        assert self.service is not None
        self.children.append(await self.service.execute(order))  # its end is an event


@dataclass
class Skipped:
    reasons: list[str] = field(default_factory=list)

    def publish(self, event: OrderEvent, stored: StoredEvent, order: Order) -> None:
        if isinstance(event.change, SliceSkipped):
            self.reasons.append(event.change.reason)


@dataclass
class Parts:
    twap: TwapScheduler
    service: OrderService
    queue: RunAtOnce
    pool: OnePool
    clock: ManualClock
    store: SqliteStore
    skipped: Skipped
    trading: TradingSwitch


async def skipped(parts: Parts, count: int) -> bool:
    return len(parts.skipped.reasons) >= count


async def idle(parts: Parts) -> bool:
    return parts.twap.running == 0 and not parts.queue.tasks


@pytest_asyncio.fixture
async def parts(tmp_path: Path) -> AsyncIterator[Parts]:
    store = await SqliteStore.open(str(tmp_path / "orders.db"), EVENTS)
    pool, clock, queue, skipped, trading = OnePool(Decimal(150)), ManualClock(), RunAtOnce(), \
        Skipped(), TradingSwitch()
    router = Router([pool])
    events = Fanout()
    service = OrderService(store, events, router, ScriptedChain(store), clock,
                           RetryPolicy(scale=0.0))
    twap = TwapScheduler(service, store, router, clock, queue, Buckets(0, 0),
                         trading, StorageOutage())
    events.subscribe(skipped, twap)  # a slice's end reaches its schedule as an event
    queue.service = service
    yield Parts(twap, service, queue, pool, clock, store, skipped, trading)
    await twap.stop()
    await store.close()


async def start(parts: Parts, **body: Any) -> Order:
    request = parse_order({"orderType": "twap", "tokenIn": "SOL", "tokenOut": "USDC",
                           "amount": 3, "slices": 3, "intervalSeconds": 10, **body},
                          parts.clock.now())
    parent = await parts.service.execute(await parts.service.create(request))
    assert parent.status is S.WAITING
    parts.twap.arm(parent)
    return parent


async def at(parts: Parts, seconds: float) -> None:
    """Move the clock to `seconds` after the start."""
    await parts.clock.advance(seconds - parts.clock.monotonic())


async def until(condition: Callable[[], Awaitable[bool]], limit: float = 5.0) -> None:
    """Wait for a condition (the store writes on its own threads), not for a time."""
    async def met() -> None:
        while not await condition():  # noqa: ASYNC110 - store threads signal no event
            await asyncio.sleep(0.002)
    await asyncio.wait_for(met(), limit)


def sent(parts: Parts, count: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return len(parts.queue.children) >= count
    return check


def ended(parts: Parts, order_id: str, wanted: S = S.CONFIRMED) -> Callable[[],
                                                                            Awaitable[bool]]:
    async def check() -> bool:
        order = await parts.store.get(order_id)
        return order is not None and order.status is wanted
    return check


async def test_each_slice_is_a_market_order_sent_at_its_time(parts: Parts) -> None:
    parent = await start(parts)
    await until(sent(parts, 1))  # the first slice is due at once
    await at(parts, 9.9)
    assert len(parts.queue.children) == 1  # the next is due at 10 s
    await at(parts, 20)
    await until(ended(parts, parent.id))
    children = parts.queue.children
    assert [c.id for c in children] == [child_id(parent.id, n) for n in range(3)]
    assert all(c.request.order_type.name == "market" and c.parent == parent.id
               and c.request.amount == 10**9 for c in children)


async def test_a_skipped_last_slice_says_its_amount_is_left_unsold(parts: Parts) -> None:
    parts.pool.usdc_per_sol = Decimal(140)
    await start(parts, limitPrice=145, slices=2)
    await until(lambda: skipped(parts, 1))
    await at(parts, 10)
    await until(lambda: skipped(parts, 2))
    first, last = parts.skipped.reasons
    assert first.endswith(": carried to the next slice")
    assert last.endswith(": left unsold: the last slice")
    assert parts.queue.children == []


async def test_a_slice_below_the_limit_is_skipped_and_carried_to_the_next(
        parts: Parts) -> None:
    parts.pool.usdc_per_sol = Decimal(140)
    parent = await start(parts, limitPrice=145)
    await until(lambda: skipped(parts, 1))
    assert parts.queue.children == [] and "below limitPrice 145" in parts.skipped.reasons[0]
    parts.pool.usdc_per_sol = Decimal(150)
    await at(parts, 10)
    await until(sent(parts, 1))
    assert [c.request.amount for c in parts.queue.children] == [2 * 10**9]  # its own + carried
    await at(parts, 20)
    await until(ended(parts, parent.id))


async def test_a_slice_that_cannot_be_priced_says_so_not_that_there_is_no_route(
        parts: Parts) -> None:
    parts.pool.quote_faults.append(NodeUnhealthy("getMultipleAccounts: Cannot connect"))
    await start(parts, limitPrice=145)
    await until(lambda: skipped(parts, 1))
    assert parts.skipped.reasons == [
        "no price (no venue could be asked: NODE_UNHEALTHY): carried to the next slice"]
    await at(parts, 10)  # the node back, the price above the limit
    await until(sent(parts, 1))
    assert [c.request.amount for c in parts.queue.children] == [2 * 10**9]


async def test_a_slice_due_while_trading_is_halted_is_skipped(parts: Parts) -> None:
    parts.trading.halted = True
    parent = await start(parts)
    await until(lambda: skipped(parts, 1))
    assert parts.queue.children == [] and parts.skipped.reasons == ["trading is halted"]
    parts.trading.halted = False
    await at(parts, 10)
    await until(sent(parts, 1))
    await at(parts, 20)
    await until(ended(parts, parent.id))
    assert sum(c.request.amount for c in parts.queue.children) == 3 * 10**9


async def test_a_disarmed_schedule_sends_no_more_slices(parts: Parts) -> None:
    parent = await start(parts)
    await until(sent(parts, 1))
    parts.twap.disarm(parent.id)
    await at(parts, 30)
    await until(lambda: idle(parts))
    assert len(parts.queue.children) == 1 and parts.twap.running == 0

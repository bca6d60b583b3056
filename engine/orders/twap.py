"""TWAP orders: a parent that sells its amount in timed slices, each a child market order.

The parent waits while its schedule runs; each slice is recorded on the parent (SliceSent,
durable) before its child exists, and the child gets an id derived from the parent's and the
slice's, so a restart at any point creates a missing child and never a second one. One task per
parent sleeps on the clock until the next slice; nothing polls.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Protocol
from uuid import NAMESPACE_URL, uuid5

from loguru import logger

from engine.access.limits import Buckets, RateLimited, key_holder
from engine.domain.errors import Overloaded, TransientError
from engine.domain.events import (
    Change,
    Expired,
    Failed,
    Failure,
    OrderEvent,
    PartiallyFilled,
    ScheduleDone,
    SliceDone,
    SliceSent,
    SliceSkipped,
    StoredEvent,
)
from engine.domain.order import Order, OrderRequest
from engine.domain.order_types import Market
from engine.domain.status import OrderStatus as S
from engine.orders.halt import TradingSwitch
from engine.orders.router import Router
from engine.orders.service import OrderService
from engine.orders.storage_outage import StorageOutage
from engine.ports import Clock, OrderStore, StaleOrder, StorageError

CHILD_LOOK_SECONDS = 1.0  # how often a slice's end is looked for in the store
MAX_CRASHES = 3  # unexpected errors in a schedule before its parent fails INTERNAL_ERROR


class SliceQueue(Protocol):
    """Where slices go: the workers' queue, with its admission."""

    def reserve(self, *, scheduled: bool = False) -> None: ...

    def release(self) -> None: ...

    def enqueue(self, order: Order, *, reserved: bool = False, urgent: bool = False) -> None: ...


def child_id(parent_id: str, index: int) -> str:
    """Slice `index`'s order id: the same on every run, so a slice is created once."""
    return str(uuid5(NAMESPACE_URL, f"twap:{parent_id}:{index}"))


class TwapScheduler:
    def __init__(self, service: OrderService, store: OrderStore, router: Router, clock: Clock,
                 queue: SliceQueue, rates: Buckets, trading: TradingSwitch,
                 outage: StorageOutage, retry_delay: float = 1.0) -> None:
        self._service, self._store, self._router, self._clock = service, store, router, clock
        self._queue, self._rates, self._outage = queue, rates, outage
        self._trading, self._retry_delay = trading, retry_delay
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._owners: Counter[str | None] = Counter()
        self._ends: dict[str, asyncio.Future[Order]] = {}  # child id -> its final state
        self._sending: set[asyncio.Task[Order]] = set()

    @property
    def running(self) -> int:
        return len(self._tasks)

    def running_of(self, owner: str) -> int:
        return self._owners[owner]

    def arm(self, parent: Order) -> None:
        if parent.id not in self._tasks:
            self._owners[parent.owner] += 1
            self._tasks[parent.id] = asyncio.create_task(self._run(parent),
                                                         name=f"twap-{parent.id}")

    def disarm(self, order_id: str) -> None:
        """Stop the schedule: slices not yet sent never will be (a slice in flight finishes)."""
        task = self._tasks.get(order_id)
        if task is not None:
            task.cancel()

    def publish(self, event: OrderEvent, stored: StoredEvent, order: Order) -> None:
        """A Publisher: a slice's child that ended (durably) lets its schedule go on."""
        if order.parent is not None and order.status.terminal:
            self.child_finished(order)

    def child_finished(self, child: Order) -> None:
        end = self._ends.pop(child.id, None)
        if end is not None and not end.done():
            end.set_result(child)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, *self._sending, return_exceptions=True)

    async def _run(self, parent: Order) -> None:
        me = asyncio.current_task()
        crashes = 0
        try:
            while not parent.status.terminal:
                try:
                    parent = await self._step(parent)
                    self._stored(parent.id)
                    continue
                except StaleOrder:
                    pass
                except StorageError as error:
                    await self._storage_failed(parent.id, error)
                except Exception as error:  # a bug: retry a few times, then fail the order
                    crashes += 1
                    logger.bind(order_id=parent.id).exception("TWAP step crashed ({} of {})",
                                                              crashes, MAX_CRASHES)
                    if crashes >= MAX_CRASHES:
                        await self._service.give_up(parent.id, error)
                        return
                    await self._clock.sleep(self._retry_delay)
                fresh = await self._reread(parent.id)  # cancelled meanwhile, say
                if fresh is None or fresh.status is not S.WAITING:
                    self._outage.stored(parent.id)  # nothing of it is left to store
                    return
                parent = fresh
        finally:
            if self._tasks.get(parent.id) is me:
                del self._tasks[parent.id]
                self._owners[parent.owner] -= 1
                if not self._owners[parent.owner]:
                    del self._owners[parent.owner]

    async def _reread(self, parent_id: str) -> Order | None:
        """The parent as stored, once the store answers (a database away answers nothing)."""
        while True:
            try:
                return await self._store.get(parent_id)
            except StorageError as error:
                await self._storage_failed(parent_id, error)

    async def _storage_failed(self, parent_id: str, error: StorageError) -> None:
        retry = self._outage.failed(parent_id, error)
        if retry.say:
            logger.bind(order_id=parent_id).warning(
                "TWAP step not stored ({}); trying again in {:g} s ({} in a row; said again "
                "when that count doubles)", error, retry.pause, retry.failures)
        await self._clock.sleep(retry.pause)

    def _stored(self, parent_id: str) -> None:
        if failures := self._outage.stored(parent_id):
            logger.bind(order_id=parent_id).info("TWAP step stored again, after {} failed "
                                                 "tries", failures)

    async def _step(self, parent: Order) -> Order:
        r, progress = parent.request, parent.progress
        assert r.schedule is not None and progress is not None
        if progress.open is not None:
            return await self._settle(parent, progress.next_slice - 1, progress.open)
        if progress.next_slice >= r.schedule.slices:
            return await self._advance(parent, _ending(parent))
        index = progress.next_slice
        due = parent.created_at + timedelta(seconds=index * r.schedule.interval)
        expires = r.expires_at
        if expires is not None and expires <= due:
            await self._clock.sleep((expires - self._clock.now()).total_seconds())
            return await self._advance(parent, Expired(
                f"expired before slice {index + 1} of {r.schedule.slices}"))
        await self._clock.sleep((due - self._clock.now()).total_seconds())
        amount = r.schedule.share(r.amount, index) + progress.carried
        if self._trading.halted:
            return await self._advance(parent, SliceSkipped(index, "trading is halted"))
        limit = r.schedule.limit
        if limit is not None:  # no quote is needed without one
            try:
                price = await self._router.price(r.token_in, r.token_out, amount)
                unpriced = "no route"
            except TransientError as error:  # the node away: no price is known
                price, unpriced = None, f"no price (no venue could be asked: {error.code})"
            if price is None or not r.schedule.allows(price):
                why = (unpriced if price is None
                       else f"net price {price:.8g} below limitPrice {limit}")
                then = ("left unsold: the last slice" if index + 1 == r.schedule.slices
                        else "carried to the next slice")
                return await self._advance(parent, SliceSkipped(index, f"{why}: {then}", price))
        await self._admit(parent.owner)  # may wait: before the slice is recorded
        # Shielded: a cancel must not fall between the slice's record and its child's start,
        # or the child would sit in `pending` with nobody to run it.
        sending = asyncio.create_task(self._send(parent, index, amount))
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)
        return await asyncio.shield(sending)

    async def _send(self, parent: Order, index: int, amount: int) -> Order:
        child = child_id(parent.id, index)
        try:
            parent = await self._advance(parent, SliceSent(index, child, amount))
        except BaseException:
            self._queue.release()  # the place `_admit` reserved: no child will take it
            raise
        await self._start_child(parent, child, amount)
        logger.bind(order_id=parent.id).info("TWAP slice {} sent as order {}", index + 1, child)
        return parent

    async def _start_child(self, parent: Order, child: str, amount: int) -> None:
        """Create and queue the slice's child, in the queue place `_admit` reserved."""
        try:
            if await self._store.get(child) is not None:
                self._queue.release()
                return  # created before a restart: the start-up resumed it
            r = parent.request
            request = OrderRequest(Market(), r.token_in, r.token_out, amount,
                                   r.slippage, priority_fee=r.priority_fee)
            order = await self._service.create(request, owner=parent.owner, order_id=child,
                                               parent=parent.id)
        except BaseException:
            self._queue.release()
            raise
        self._queue.enqueue(order, reserved=True)

    async def _admit(self, owner: str | None) -> None:
        """A slice is an order like any other: it takes one of its key's requests and a place
        in the queue, waiting (the slice runs late) while either is used up."""
        while owner is not None and self._rates.enabled:
            try:
                self._rates.admit(key_holder(owner), self._clock.monotonic())
                break
            except RateLimited as limited:
                await self._clock.sleep(limited.retry_after)
        while True:
            try:
                self._queue.reserve(scheduled=True)
                return
            except Overloaded:
                await self._clock.sleep(self._retry_delay)

    async def _settle(self, parent: Order, index: int, child: str) -> Order:
        """Wait for the open slice's child to end, and count what it sold."""
        end = self._ends.setdefault(child, asyncio.get_running_loop().create_future())
        found = await self._store.get(child)
        if found is None:  # the engine stopped between the slice's record and its child
            progress = parent.progress
            assert progress is not None
            await self._admit(parent.owner)
            await self._start_child(parent, child, progress.open_amount)
        elif found.status.terminal:
            self._ends.pop(child, None)
            if not end.done():  # the child's end may have been told while the store was read
                end.set_result(found)
        try:
            while not end.done():  # told by this process's service; else (the child ran in
                # another engine process of a shared store) found by looking again
                await asyncio.wait({end}, timeout=CHILD_LOOK_SECONDS)
                if not end.done():
                    found = await self._store.get(child)
                    if found is not None and found.status.terminal and not end.done():
                        end.set_result(found)
            ended = end.result()
        finally:
            if self._ends.get(child) is end:
                del self._ends[child]
        sold = ended.fill if ended.status is S.CONFIRMED else None
        return await self._advance(parent, SliceDone(
            index, child, ended.status, sold.amount_in if sold else 0,
            sold.amount_out if sold else 0, ended.error))

    async def _advance(self, parent: Order, change: Change) -> Order:
        return await self._service.advance(parent, change)


def _ending(parent: Order) -> Change:
    """How a schedule that ran out ends: everything sold, some of it, or none."""
    r, progress = parent.request, parent.progress
    assert r.schedule is not None and progress is not None
    left = r.token_in.format(r.amount - progress.filled_in)
    if progress.filled_in >= r.amount:
        return ScheduleDone()
    if progress.filled_in > 0:
        return PartiallyFilled(f"the schedule ended with {left} {r.token_in.symbol} unsold")
    return Failed(Failure("NOT_FILLED", f"no slice sold; {left} {r.token_in.symbol} unsold"))


"""Running beside other engine processes on one shared store (PostgreSQL).

Two duties, each a task: keep this process's leases alive and take over the unfinished orders
whose lease expired (their process died); and relay the events other processes commit to this
process's subscribers, woken by the store's notifications (LISTEN/NOTIFY) with a poll behind
them, so that a lost notification delays an event but never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Sequence

from loguru import logger

from engine.domain.events import OrderEvent, StoredEvent
from engine.domain.order import Order
from engine.domain.status import OrderStatus as S
from engine.logs import Repeats
from engine.ports import Clock, OrderStore, StorageError

POLL_SECONDS = 1.0  # the backstop under the notifications
FEED_PAGE = 500
REMEMBERED = 100_000  # feed positions this process committed, so that it relays only others'


class Sharing:
    def __init__(self, store: OrderStore, deliver: Callable[[StoredEvent], None],
                 resume: Callable[[Sequence[Order]], None],
                 moved_elsewhere: Callable[[str], None], clock: Clock, *,
                 lease_seconds: float) -> None:
        self._store, self._deliver, self._resume = store, deliver, resume
        self._moved_elsewhere, self._clock, self._lease = moved_elsewhere, clock, lease_seconds
        self._mine: set[int] = set()
        self._order: deque[int] = deque()
        self._last = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def publish(self, event: OrderEvent, stored: StoredEvent,
                order: Order | None = None) -> None:
        """A Publisher: remember what this process committed (it publishes those itself)."""
        self._mine.add(stored.gseq)
        self._order.append(stored.gseq)
        if len(self._order) > REMEMBERED:
            self._mine.discard(self._order.popleft())

    async def start(self) -> None:
        self._last = await self._store.last_gseq()
        await self._store.watch_feed(lambda gseq: self._wake.set())
        self._tasks = [asyncio.create_task(self._leases(), name="leases"),
                       asyncio.create_task(self._relay(), name="feed-relay")]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _leases(self) -> None:
        failing = Repeats("leases not renewed", "leases renewed again")
        while True:
            await self._clock.sleep(self._lease / 3)
            try:
                await self._store.renew_leases()
                taken = await self._store.claim_unfinished()
            except StorageError as error:
                failing.failed(error)
                continue
            failing.ended()
            if taken:
                logger.warning("took over {} {} whose engine stopped renewing {}", len(taken),
                               *(("order", "it") if len(taken) == 1 else ("orders", "them")))
                self._resume(taken)

    async def _relay(self) -> None:
        failing = Repeats("feed not read", "feed read again")
        while True:
            # The backstop: read the feed anyway. (asyncio.timeout: wait_for may swallow a
            # cancellation in 3.11, and a stop would then wait for this loop forever.)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._catch_up()
            except StorageError as error:
                failing.failed(error)
                continue
            failing.ended()

    async def _catch_up(self) -> None:
        while True:
            events = await self._store.feed(self._last, FEED_PAGE)
            for event in events:
                self._last = event.gseq
                if event.gseq in self._mine:
                    continue
                self._deliver(event)
                if event.status is not S.WAITING:  # cancelled or fired by another process
                    self._moved_elsewhere(event.order_id)
            if len(events) < FEED_PAGE:
                return

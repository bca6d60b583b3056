"""When waiting orders run out of time: their expiries in order, looked at twice a second."""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Awaitable, Callable
from datetime import datetime

from loguru import logger

from engine.domain.order import Order
from engine.logs import Repeats
from engine.ports import Clock, StorageError

LOOK_SECONDS = 0.5


class Expiries:
    def __init__(self, clock: Clock, armed: Callable[[str], Order | None],
                 expire: Callable[[str, str], Awaitable[None]],
                 disarm: Callable[[str], object]) -> None:
        """`armed`: the waiting order of an id, if it still waits; `expire` writes its end;
        `disarm` lets it go once that is written."""
        self._clock, self._armed, self._expire, self._disarm = clock, armed, expire, disarm
        self._due: list[tuple[datetime, str]] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, order: Order) -> None:
        """Watch an order's time to live (a waiting order with one)."""
        expires_at = order.request.expires_at
        if expires_at is None:
            return
        heapq.heappush(self._due, (expires_at, order.id))
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="expirer")

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    async def _run(self) -> None:
        failing = Repeats("expiry not stored, tried again at the next look")
        while True:
            await self._clock.sleep(LOOK_SECONDS)
            now, due = self._clock.now(), []
            while self._due and self._due[0][0] <= now:
                due.append(heapq.heappop(self._due))
            for expires_at, order_id in due:
                order = self._armed(order_id)
                if order is None:
                    continue  # fired or cancelled meanwhile
                # Written first, disarmed after: an expiry the store refuses (a full disk)
                # leaves the order waiting and watched, and is tried again at the next look.
                try:
                    await self._expire(order_id, _ran_out(order))
                except StorageError as error:
                    heapq.heappush(self._due, (expires_at, order_id))
                    failing.failed(error, logger.bind(order_id=order_id))
                    continue
                failing.ended()
                self._disarm(order_id)


def _ran_out(order: Order) -> str:
    """Why a waiting order expired, with the time it was given."""
    expires = order.request.expires_at
    assert expires is not None
    ttl = round((expires - order.created_at).total_seconds(), 1)  # read apart by a moment
    return f"its time to live ({ttl:g} s) ran out before it fired"

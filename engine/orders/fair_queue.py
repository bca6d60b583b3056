"""The orders waiting for a worker: one line per owner (API key), served in turn.

A single first-come line lets one key's backlog (300 TWAPs' slices, a burst of a bot's orders)
stand in front of every other key's orders. Here each owner has its own line and the workers
take from the owners in rotation, so an order waits behind at most one order of each other
owner with something queued, never behind another owner's whole backlog. Snipers still go
first: the launch slot is the prize.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque

from engine.domain.order import Order


class FairQueue:
    def __init__(self) -> None:
        self._urgent: deque[Order] = deque()
        self._lines: OrderedDict[str | None, deque[Order]] = OrderedDict()  # in serving turn
        self._size = 0
        self._available = asyncio.Semaphore(0)

    def qsize(self) -> int:
        return self._size

    def owners(self) -> int:
        """How many owners have orders in line."""
        return len(self._lines)

    def put_nowait(self, order: Order, *, urgent: bool = False) -> None:
        if urgent:
            self._urgent.append(order)
        else:
            self._lines.setdefault(order.owner, deque()).append(order)
        self._size += 1
        self._available.release()

    async def get(self) -> Order:
        await self._available.acquire()
        self._size -= 1
        if self._urgent:
            return self._urgent.popleft()
        owner, line = next(iter(self._lines.items()))
        order = line.popleft()
        if line:
            self._lines.move_to_end(owner)  # its next order waits for the others' turns
        else:
            del self._lines[owner]
        return order

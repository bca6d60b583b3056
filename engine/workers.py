"""The in-process queue and the fixed pool of workers that drain it."""

from __future__ import annotations

import asyncio
import contextlib

from loguru import logger

from engine.domain.order import Order
from engine.service import OrderService


class WorkerPool:
    """Exactly `size` coroutines execute orders, so at most `size` run at once."""

    def __init__(self, service: OrderService, size: int, max_pending: int = 0) -> None:
        self._service = service
        self._size = size
        self.queue: asyncio.Queue[Order] = asyncio.Queue(max_pending)
        self._tasks: set[asyncio.Task[None]] = set()
        self.in_flight = 0
        self.peak_in_flight = 0

    def start(self) -> None:
        for n in range(self._size):
            task = asyncio.create_task(self._work(), name=f"worker-{n}")
            self._tasks.add(task)

    def enqueue(self, order: Order) -> None:
        self.queue.put_nowait(order)

    async def join(self) -> None:
        """Wait until every queued order has been executed (tests, benchmarks)."""
        await self.queue.join()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _work(self) -> None:
        while True:
            order = await self.queue.get()
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                await self._service.execute(order)
            except asyncio.CancelledError:
                raise
            except Exception:
                # The order stays non-terminal in the store and is resumed at the next start-up.
                logger.bind(order_id=order.id).exception("execution crashed; left for resume")
            finally:
                self.in_flight -= 1
                self.queue.task_done()

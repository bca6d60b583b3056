"""The in-process queue and the fixed pool of workers that drain it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from loguru import logger

from engine.domain.errors import Overloaded
from engine.domain.order import Order
from engine.orders.fair_queue import FairQueue
from engine.orders.storage_outage import StorageOutage
from engine.ports import Clock, StaleOrder, StorageError

Execute = Callable[[Order], Awaitable[Order]]
Reload = Callable[[str], Awaitable[Order | None]]
GiveUp = Callable[[str, Exception], Awaitable[None]]
MAX_CRASHES = 3  # an execution that raises unexpectedly this often fails with INTERNAL_ERROR


class WorkerPool:
    """Exactly `size` coroutines execute orders, so at most `size` run at once."""

    def __init__(self, execute: Execute, reload: Reload, size: int, max_pending: int, *,
                 give_up: GiveUp, outage: StorageOutage, clock: Clock,
                 crash_delay: float = 1.0) -> None:
        self._execute, self._reload, self._give_up = execute, reload, give_up
        self._clock = clock
        self._outage, self._crash_delay = outage, crash_delay
        # Unexpected errors per order: a poison order must end, not crash a worker forever.
        self._crashes: dict[str, int] = {}
        self._size, self._max_pending = size, max_pending
        # Bounded by admission (see reserve); snipers jump the line, each key has its own.
        self._queue = FairQueue()
        self._reserved = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy: set[asyncio.Task[None]] = set()
        self._later: set[asyncio.Task[None]] = set()  # re-queues after a crash, held until done
        self._stopping = False
        self.peak_in_flight = 0

    @property
    def in_flight(self) -> int:
        return len(self._busy)

    @property
    def queued(self) -> int:
        """Orders in the queue, waiting for a worker."""
        return self._queue.qsize()

    @property
    def pending(self) -> int:
        return self._queue.qsize() + self._reserved

    def start(self) -> None:
        for n in range(self._size):
            task = asyncio.create_task(self._work(), name=f"worker-{n}")
            self._tasks.add(task)

    def reserve(self, *, scheduled: bool = False) -> None:
        """Claim a queue slot before storing a new order, so a full queue stores nothing.
        A `scheduled` order (a TWAP slice) leaves the last tenth of the queue to orders placed
        directly: a key's schedules cannot fill the queue that other keys submit to."""
        room = self._max_pending - (max(1, self._max_pending // 10) if scheduled else 0)
        if self.pending >= room:
            raise Overloaded(f"{self.pending} orders are waiting")
        self._reserved += 1

    def release(self) -> None:
        self._reserved -= 1

    def enqueue(self, order: Order, *, reserved: bool = False, urgent: bool = False) -> None:
        if reserved:
            self.release()
        self._queue.put_nowait(order, urgent=urgent)

    async def stop(self, grace: float) -> None:
        """Take no new orders; give executing ones `grace` seconds, then cancel (they resume)."""
        self._stopping = True
        for task in self._tasks - self._busy:
            task.cancel()
        if self._busy:
            _, late = await asyncio.wait(set(self._busy), timeout=grace)
            if late:
                logger.warning("{} {} still executing after {}s: left to resume at start-up",
                               len(late), "order" if len(late) == 1 else "orders", grace)
        for task in self._tasks | self._later:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._later, return_exceptions=True)
        self._tasks.clear()

    async def _work(self) -> None:
        me = asyncio.current_task()
        assert me is not None
        while not self._stopping:
            order = await self._queue.get()
            self._busy.add(me)
            self.peak_in_flight = max(self.peak_in_flight, len(self._busy))
            try:
                await self._execute(order)
            except asyncio.CancelledError:
                raise
            except StaleOrder:
                # Someone else moved it first (a cancel, say): carry on from what is stored.
                self._later.add(asyncio.create_task(self._requeue(order.id, delay=0)))
            except StorageError as error:  # the disk, not the order: try again, without limit
                self._storage_failed(order.id, error)
            except Exception as error:
                self._crashed(order.id, error)
            else:
                self._crashes.pop(order.id, None)
                if failures := self._outage.stored(order.id):
                    logger.bind(order_id=order.id).info("stored again, after {} failed {}",
                                                        failures, _tries(failures))
            finally:
                self._busy.discard(me)

    def _storage_failed(self, order_id: str, error: StorageError) -> None:
        retry = self._outage.failed(order_id, error)
        if retry.say:
            logger.bind(order_id=order_id).warning(
                "storage error ({}); trying again in {:g} s ({} failed {} in a row; said again "
                "when that count doubles)", error, retry.pause, retry.failures,
                _tries(retry.failures))
        self._later.add(asyncio.create_task(self._requeue(order_id, retry.pause)))

    def _crashed(self, order_id: str, error: Exception) -> None:
        crashes = self._crashes[order_id] = self._crashes.get(order_id, 0) + 1
        log = logger.bind(order_id=order_id)
        if crashes < MAX_CRASHES:
            log.exception("execution crashed ({} of {}); retrying", crashes, MAX_CRASHES)
            self._later.add(asyncio.create_task(self._requeue(order_id, self._crash_delay)))
            return
        log.error("execution crashed {} times ({}); failing the order", crashes,
                  type(error).__name__)
        del self._crashes[order_id]
        self._later.add(asyncio.create_task(self._end(order_id, error)))

    async def _end(self, order_id: str, error: Exception) -> None:
        self._later.discard(asyncio.current_task())  # type: ignore[arg-type,unused-ignore]
        try:
            await self._give_up(order_id, error)
        except Exception:  # the store, say: it is picked up again at start-up
            logger.bind(order_id=order_id).exception("could not fail the order")

    async def _requeue(self, order_id: str, delay: float) -> None:
        """After an unexpected error (storage, say), pick the order up again from the store."""
        await self._clock.sleep(delay)
        self._later.discard(asyncio.current_task())
        try:
            order = await self._reload(order_id)
        except StorageError as error:  # the store is still away: it is still this order's
            self._storage_failed(order_id, error)
            return
        except Exception:
            logger.bind(order_id=order_id).exception("reload failed; it resumes at start-up")
            return
        if order is None or order.status.terminal:
            self._outage.stored(order_id)  # it ended elsewhere (a cancel): nothing to store
        elif not self._stopping:
            self.enqueue(order)


def _tries(count: int) -> str:
    return "try" if count == 1 else "tries"

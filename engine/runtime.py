"""The running engine: store, hub, service and workers wired together, with start and stop."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

from loguru import logger

from engine.domain.order import Order, OrderRequest, OrderType, StatusChanged
from engine.domain.status import OrderStatus as S
from engine.hub import Hub
from engine.metrics import Metrics
from engine.ports import Clock, IdempotencyKey, OrderStore
from engine.router import Router
from engine.service import OrderService, Publisher, RetryPolicy
from engine.store.writer import StaleOrder
from engine.venues.world import SimWorld
from engine.watcher import Watcher
from engine.workers import WorkerPool

KEY_RETENTION = timedelta(hours=48)  # idempotency keys live at least this long (promise: 24 h)


class NotCancellable(Exception):
    """The order is executing or finished."""

    def __init__(self, order: Order) -> None:
        super().__init__(order.status.value)
        self.order = order


@dataclass(frozen=True)
class Fanout:
    """Publish each event to several publishers (the hub, the metrics)."""

    publishers: tuple[Publisher, ...]

    def publish(self, event: StatusChanged) -> None:
        for publisher in self.publishers:
            publisher.publish(event)


@dataclass
class Engine:
    store: OrderStore
    world: SimWorld
    clock: Clock
    workers: int
    max_attempts: int = 3
    latency_scale: float = 1.0
    max_pending: int = 10_000
    shutdown_grace: float = 10.0
    stream_buffer: int = 256
    send_timeout: float = 10.0
    launch_rate: float = 0.0
    hub: Hub = field(init=False)
    accepting: bool = False
    keys_in_progress: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.hub = Hub(self.stream_buffer)
        self.metrics = Metrics()
        policy = RetryPolicy(max_attempts=self.max_attempts, scale=self.latency_scale)
        self.router = Router(self.world.venues)
        self.service = OrderService(self.store, Fanout((self.hub, self.metrics)), self.router,
                                    self.world.chain, self.clock, policy)
        self.pool = WorkerPool(self.service.execute, self.store.get, self.workers,
                               self.max_pending)
        self.watcher = Watcher(self.router, self.clock, self._fire, self._expire,
                               self.service.update_waiting, self.hub.watched)
        self.service.on_waiting = self.watcher.arm
        self.world.listeners.append(self.watcher.pools_changed)
        self._market: asyncio.Task[None] | None = None
        m = self.metrics
        m.gauge("engine_queue_depth", "Orders waiting for a worker", lambda: self.pool.pending)
        m.gauge("engine_in_flight", "Orders executing now", lambda: self.pool.in_flight)
        m.gauge("engine_waiting_orders", "Limit and sniper orders waiting for their price",
                lambda: self.watcher.waiting)
        m.gauge("engine_websocket_subscribers", "Open order-stream subscriptions",
                lambda: self.hub.subscriber_count)

    async def start(self) -> None:
        """Resume every unfinished order, then start the workers and accept new ones."""
        forgotten = await self.store.forget_keys(self.clock.now() - KEY_RETENTION)
        if forgotten:
            logger.info("forgot {} idempotency keys older than {}", forgotten, KEY_RETENTION)
        unfinished = await self.store.unfinished()
        self.service.resumed = {order.id for order in unfinished}
        for order in unfinished:
            if order.status is S.WAITING:
                self.watcher.arm(order)  # re-armed: it waits for its price again
            else:
                self.pool.enqueue(order)
        if unfinished:
            logger.info("resuming {} unfinished orders from the store", len(unfinished))
        self.pool.start()
        self._market = asyncio.create_task(self.world.run(self.clock, self.launch_rate))
        self.accepting = True

    async def stop(self) -> None:
        """Refuse new orders, let executing ones finish within the grace period."""
        self.accepting = False
        if self._market is not None:
            self._market.cancel()
            await asyncio.gather(self._market, return_exceptions=True)
        await self.watcher.stop()
        self.world.listeners.remove(self.watcher.pools_changed)
        await self.pool.stop(self.shutdown_grace)

    async def cancel(self, order_id: str) -> Order:
        """Cancel an order that has not started executing; raises NotCancellable otherwise."""
        while True:  # a worker or the watcher may move it while we look: look again
            order = await self.store.get(order_id)
            if order is None:
                raise KeyError(order_id)
            if order.status not in (S.PENDING, S.WAITING):
                raise NotCancellable(order)
            self.watcher.disarm(order_id)
            with contextlib.suppress(StaleOrder):
                return await self.service.close(order, S.CANCELLED, "cancelled by the trader")

    def _fire(self, order: Order) -> None:
        self.pool.enqueue(order, urgent=order.request.order_type is OrderType.SNIPER)

    async def _expire(self, order_id: str, reason: str) -> None:
        order = await self.store.get(order_id)
        if order is not None and order.status in (S.PENDING, S.WAITING):
            # StaleOrder: it started executing at the last moment, and finishes normally.
            with contextlib.suppress(StaleOrder):
                await self.service.close(order, S.EXPIRED, reason)

    async def submit(self, request: OrderRequest, key: IdempotencyKey | None = None) -> Order:
        """Store the order durably, then queue it; raises Overloaded when the queue is full."""
        self.pool.reserve()
        try:
            order = await self.service.submit(request, key)
        except BaseException:
            self.pool.release()
            raise
        self.pool.enqueue(order, reserved=True)
        return order

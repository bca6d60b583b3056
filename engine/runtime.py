"""The running engine: store, hub, service and workers wired together, with start and stop."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from loguru import logger

from engine.domain.order import Order, OrderRequest
from engine.hub import Hub
from engine.ports import Clock, IdempotencyKey, OrderStore
from engine.router import Router
from engine.service import OrderService, RetryPolicy
from engine.venues.world import SimWorld
from engine.workers import WorkerPool

KEY_RETENTION = timedelta(hours=48)  # idempotency keys live at least this long (promise: 24 h)


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
    hub: Hub = field(init=False)
    accepting: bool = False
    keys_in_progress: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.hub = Hub(self.stream_buffer)
        policy = RetryPolicy(max_attempts=self.max_attempts, scale=self.latency_scale)
        self.router = Router(self.world.venues)
        self.service = OrderService(self.store, self.hub, self.router, self.world.chain,
                                    self.clock, policy)
        self.pool = WorkerPool(self.service.execute, self.store.get, self.workers,
                               self.max_pending)

    async def start(self) -> None:
        """Resume every unfinished order, then start the workers and accept new ones."""
        forgotten = await self.store.forget_keys(self.clock.now() - KEY_RETENTION)
        if forgotten:
            logger.info("forgot {} idempotency keys older than {}", forgotten, KEY_RETENTION)
        unfinished = await self.store.unfinished()
        for order in unfinished:
            self.pool.enqueue(order)
        if unfinished:
            logger.info("resuming {} unfinished orders from the store", len(unfinished))
        self.pool.start()
        self.accepting = True

    async def stop(self) -> None:
        """Refuse new orders, let executing ones finish within the grace period."""
        self.accepting = False
        await self.pool.stop(self.shutdown_grace)

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

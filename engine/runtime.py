"""The running engine: store, hub, service and workers wired together, with start and stop."""

from __future__ import annotations

from dataclasses import dataclass, field

from loguru import logger

from engine.domain.order import Order, OrderRequest
from engine.hub import Hub
from engine.ports import Clock, OrderStore
from engine.router import Router
from engine.service import OrderService, RetryPolicy
from engine.venues.world import SimWorld
from engine.workers import WorkerPool


@dataclass
class Engine:
    store: OrderStore
    world: SimWorld
    clock: Clock
    workers: int
    max_attempts: int = 3
    latency_scale: float = 1.0
    hub: Hub = field(default_factory=Hub)
    accepting: bool = False

    def __post_init__(self) -> None:
        policy = RetryPolicy(max_attempts=self.max_attempts, scale=self.latency_scale)
        self.router = Router(self.world.venues)
        self.service = OrderService(self.store, self.hub, self.router, self.world.chain,
                                    self.clock, policy)
        self.pool = WorkerPool(self.service, self.workers)

    async def start(self) -> None:
        """Resume every unfinished order, then start the workers and accept new ones."""
        unfinished = await self.store.unfinished()
        for order in unfinished:
            self.pool.enqueue(order)
        if unfinished:
            logger.info("resuming {} unfinished orders from the store", len(unfinished))
        self.pool.start()
        self.accepting = True

    async def stop(self) -> None:
        self.accepting = False
        await self.pool.stop()

    async def submit(self, request: OrderRequest) -> Order:
        order = await self.service.submit(request)
        self.pool.enqueue(order)
        return order

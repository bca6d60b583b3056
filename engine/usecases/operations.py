"""Running the engine: starting (resuming what a stop left unfinished), taking over another
process's orders, stopping within the grace period, and what health and metrics report."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from loguru import logger

from engine.access.keyring import KeyMode, KeyRing
from engine.domain.order import Order
from engine.domain.status import OrderStatus as S
from engine.orders.risk_controls import RiskControls
from engine.orders.router import Router
from engine.orders.service import OrderService
from engine.orders.storage_outage import StorageOutage
from engine.orders.wakers import Wakers
from engine.orders.workers import MAX_CRASHES, WorkerPool
from engine.ports import Chain, Clock, OrderStore
from engine.publishing.hub import Hub
from engine.publishing.metrics import Metrics
from engine.usecases.orders import Orders
from engine.usecases.probe import Probe
from engine.usecases.reads import read

KEY_MODES = {
    KeyMode.OPEN: "none exists; loopback clients need none (keys create to require them)",
    KeyMode.KEYS: "required on every request",
    KeyMode.LOCKED: "LOCKED: every key was revoked and none is active, so nobody is served "
                    "until a key is created or `keys unlock` opens loopback again"}
KEY_RETENTION = timedelta(hours=48)  # idempotency keys live at least this long (promise: 24 h)
INTERRUPTED = "interrupted_executions"  # engine value: {order id: starts it was executing at}
EXECUTING = frozenset({S.ROUTING, S.BUILDING, S.SUBMITTED})


class Interrupted(Exception):
    """The process stopped (killed, out of memory, a native crash) while an order executed."""


@dataclass(frozen=True, slots=True)
class Health:
    accepting: bool
    workers: int
    queued: int
    in_flight: int
    waiting: int
    subscribers: int
    peak_in_flight: int  # the most orders that ever executed at once (at most `workers`)
    problems: tuple[str, ...] = ()  # a store refusing writes; pools left out of quotes, why


class Operations:
    def __init__(self, *, store: OrderStore, orders: Orders, service: OrderService,
                 pool: WorkerPool, wakers: Wakers, keyring: KeyRing, risk: RiskControls,
                 hub: Hub, metrics: Metrics, clock: Clock, workers: int,
                 shutdown_grace: float, router: Router, outage: StorageOutage,
                 node: Chain) -> None:
        self._store, self._orders, self._service, self._pool = store, orders, service, pool
        self._wakers, self._keyring, self._risk, self._hub = wakers, keyring, risk, hub
        self._metrics, self._clock = metrics, clock
        self._workers, self._grace, self._router = workers, shutdown_grace, router
        self._outage = outage
        self._store_probe = Probe(store.last_gseq, "the store cannot be read")
        self._node_probe = Probe(node.health, "the node cannot serve")

    async def start(self) -> None:
        """Resume every unfinished order, then start the workers and accept new ones."""
        await self._keyring.refresh()
        logger.info("API keys: {}", KEY_MODES[self._keyring.mode])
        await self._risk.load()
        forgotten = await self._store.forget_keys(self._clock.now() - KEY_RETENTION)
        if forgotten:
            logger.info("forgot {} idempotency keys older than {}", forgotten, KEY_RETENTION)
        unfinished = await self._store.claim_unfinished()
        self.resume(await self._end_repeat_killers(unfinished))
        self._pool.start()
        self._orders.accepting = True

    async def _end_repeat_killers(self, orders: list[Order]) -> list[Order]:
        """Count, durably, the orders that were executing when the process stopped; fail those
        it stopped during MAX_CRASHES times in a row (an order that kills the process, natively
        or by memory, would otherwise run at every start). A submitted one is left to the
        chain's answer: its transaction may have landed."""
        known = await read(self._store.engine_value(INTERRUPTED))
        before: dict[str, int] = json.loads(known) if known else {}
        counts = {o.id: before.get(o.id, 0) + 1 for o in orders if o.status in EXECUTING}
        if counts or before:
            await self._store.set_engine_value(INTERRUPTED, json.dumps(counts))
        ended = {order_id for order_id, count in counts.items() if count >= MAX_CRASHES}
        for order in orders:
            if order.id in ended and order.status is not S.SUBMITTED:
                logger.bind(order_id=order.id).error(
                    "the engine stopped while executing this order {} times; failing it",
                    counts[order.id])
                await self._service.give_up(order.id, Interrupted(
                    f"the engine stopped during its execution {counts[order.id]} times"))
        return [o for o in orders if o.id not in ended or o.status is S.SUBMITTED]

    def resume(self, orders: Sequence[Order]) -> None:
        """Pick up unfinished orders: at start-up, or taken over from an engine process that
        died (their lease expired). A submitted one asks the chain before anything is sent."""
        self._service.resuming(order.id for order in orders)
        for order in orders:
            if order.status is S.WAITING:
                self._wakers.hand_over(order)  # it waits for its price (or its slices) again
            else:
                self._pool.enqueue(order)
        if orders:
            logger.info("resuming {} unfinished {} from the store", len(orders),
                        "order" if len(orders) == 1 else "orders")

    def moved_elsewhere(self, order_id: str) -> None:
        """Another engine process moved a waiting order on (cancelled it, say): stop
        watching it here."""
        self._wakers.forget(order_id)

    async def stop(self) -> None:
        """Refuse new orders, let executing ones finish within the grace period."""
        self._orders.accepting = False
        await self._wakers.stop()
        await self._pool.stop(self._grace)

    def release_streams(self) -> None:
        """The server is closing every WebSocket: hand each directly written subscriber back
        to its handler, so nothing is written to a socket after its close frame."""
        self._hub.detach_all()

    def health(self) -> Health:
        return Health(self._orders.accepting, self._workers, self._pool.queued,
                      self._pool.in_flight, self._wakers.waiting, self._hub.subscriber_count,
                      self._pool.peak_in_flight,
                      (*self._outage.problems(), *self._router.problems()))

    async def outside_problems(self) -> list[str]:
        """Why the store cannot be read or the node cannot serve now, asked of each (a
        database away or frozen, a node down, hung or unhealthy): so that an idle engine
        whose database or node is gone does not say "ok". Answered within the second, from
        reads at most a second old."""
        found = await asyncio.gather(self._store_probe.problem(), self._node_probe.problem())
        return [problem for problem in found if problem is not None]

    def refused(self, code: str) -> None:
        """Count a request refused with this code (for /metrics)."""
        self._metrics.refusals.labels(code).inc()

    def metrics_text(self) -> bytes:
        return self._metrics.render()

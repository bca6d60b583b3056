"""Orders as the API asks for them: submit (with idempotency), cancel, read, follow."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, replace

from loguru import logger

from engine.domain.access import LOCAL, Caller
from engine.domain.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    NoRoute,
    NotAccepting,
    NotCancellable,
    OrderNotFound,
    StorageUnavailable,
    TooManyWaiting,
)
from engine.domain.events import StoredEvent
from engine.domain.order import Order
from engine.domain.parsing import parse_order
from engine.domain.status import OrderStatus as S
from engine.orders.risk_controls import RiskControls
from engine.orders.router import Router
from engine.orders.service import OrderService
from engine.orders.storage_outage import StorageOutage
from engine.orders.wakers import Wakers
from engine.orders.workers import WorkerPool
from engine.ports import (
    Clock,
    DuplicateKey,
    IdempotencyKey,
    OrderStore,
    Page,
    StaleOrder,
    StorageError,
)
from engine.publishing.hub import ALL, Hub, Subscription
from engine.publishing.metrics import Metrics
from engine.usecases.reads import read
from engine.usecases.tokens import TokenDirectory


@dataclass(frozen=True, slots=True)
class Submitted:
    order_id: str
    replayed: bool = False  # the same Idempotency-Key and body were accepted before


@dataclass(frozen=True, slots=True)
class WaitingLimits:
    total: int  # orders waiting at once, all keys together
    per_key: int


class Orders:
    def __init__(self, *, store: OrderStore, service: OrderService, pool: WorkerPool,
                 wakers: Wakers, risk: RiskControls, router: Router, hub: Hub,
                 metrics: Metrics, clock: Clock, limits: WaitingLimits,
                 tokens: TokenDirectory, outage: StorageOutage) -> None:
        self._store, self._service, self._pool, self._wakers = store, service, pool, wakers
        self._risk, self._router, self._hub, self._metrics = risk, router, hub, metrics
        self._clock, self._limits, self._tokens = clock, limits, tokens
        self._outage = outage
        self.accepting = False  # opened once unfinished orders are resumed, closed at stop
        self._keys_in_progress: set[str] = set()

    async def submit(self, body: object, key: IdempotencyKey | None = None,
                     caller: Caller = LOCAL) -> Submitted:
        """Validate and durably store an order, then queue it. With a key, the same key and
        fingerprint answer the first order again; raises a `Refused` error otherwise."""
        started = time.perf_counter()
        try:
            if key is None:
                return Submitted((await self._accept(body, None, caller)).id)
            if caller.name is not None:  # each caller's keys are its own
                key = replace(key, key=f"{caller.name}\x1f{key.key}")
            return await self._submit_once(body, key, caller)
        finally:
            self._metrics.submit_seconds.observe(time.perf_counter() - started)

    async def _submit_once(self, body: object, key: IdempotencyKey,
                           caller: Caller) -> Submitted:
        if key.key in self._keys_in_progress:
            raise IdempotencyKeyInUse("a request with this Idempotency-Key is still being "
                                      "processed")
        self._keys_in_progress.add(key.key)
        try:
            known = await read(self._store.find_key(key.key))
            if known is None:
                try:
                    return Submitted((await self._accept(body, key, caller)).id)
                except DuplicateKey:  # another engine process stored it a moment ago
                    known = await read(self._store.find_key(key.key))
                    if known is None:
                        raise IdempotencyKeyInUse("a request with this Idempotency-Key is "
                                                  "still being processed") from None
            if known.fingerprint != key.fingerprint:
                raise IdempotencyKeyReused("this Idempotency-Key was used with a different "
                                           "request body")
            return Submitted(known.order_id, replayed=True)
        finally:
            self._keys_in_progress.discard(key.key)

    async def _accept(self, body: object, key: IdempotencyKey | None, caller: Caller) -> Order:
        if not self.accepting:
            raise NotAccepting("the engine is not accepting orders")
        mints = (await self._tokens.unlisted(body.get("tokenIn"), body.get("tokenOut"))
                 if isinstance(body, dict) else {})  # a token named by a mint of the cluster
        request = parse_order(body, self._clock.now(), mints)
        await self._risk.check(request)
        if request.waits:
            self._admit_waiting(caller)
        if not request.order_type.snipes and not self._router.has_route(request.token_in.mint,
                                                      request.token_out.mint, request.swap_mode):
            how = " directly (ExactOut needs a direct pool)" if request.exact_out else ""
            raise NoRoute(f"no venue trades {request.token_in.symbol}/"
                          f"{request.token_out.symbol}{how}", field="tokenOut")
        self._pool.reserve()
        try:
            order = await self._service.create(request, key, caller.name)
        except StorageError as error:
            self._pool.release()
            refused = self._outage.refused(error)
            if refused.say:  # each client is told; the log says it when the count doubles
                logger.error("order not stored: {} ({} refused in a row)", error,
                             refused.failures)
            raise StorageUnavailable("the order could not be stored; nothing was accepted") \
                from None
        except BaseException:
            self._pool.release()
            raise
        if refusals := self._outage.accepted():
            logger.info("orders are stored again, after {} refused", refusals)
        self._pool.enqueue(order, reserved=True)
        return order

    def _admit_waiting(self, caller: Caller) -> None:
        if self._wakers.waiting >= self._limits.total:
            raise TooManyWaiting(f"{self._limits.total} orders are waiting already",
                                 retry_after=60)
        if caller.name is not None and (
                self._wakers.waiting_of(caller.name) >= self._limits.per_key):
            raise TooManyWaiting(f"this key has {self._limits.per_key} orders waiting; "
                                 "cancel some first", retry_after=60, per_key=True)

    async def cancel(self, order_id: str, caller: Caller = LOCAL) -> Order:
        """Cancel an order that has not started executing."""
        while True:  # a worker or the watcher may move it while we look: look again
            order = await self.get(order_id, caller)
            if order.status not in (S.PENDING, S.WAITING):
                raise NotCancellable(order.status.value, finished=order.status.terminal)
            # Written first, disarmed after: a write that fails leaves the order waiting and
            # still watched. Firing meanwhile is safe: its first step finds it cancelled.
            try:
                order = await self._service.cancel(order, "cancelled by the trader")
            except StaleOrder:
                continue
            except StorageError as error:
                raise StorageUnavailable(f"the cancel could not be stored ({error}); the order "
                                         "is unchanged and still waiting") from None
            self._wakers.forget(order_id)
            logger.bind(order_id=order_id).info("cancelled by {}", caller.name or "local")
            return order

    async def cancel_waiting(self, caller: Caller = LOCAL) -> list[str]:
        """Cancel every waiting order the caller owns (all of them for an admin); their ids."""
        cancelled: list[str] = []
        cursor: str | None = None
        while True:
            page = await read(self._store.page(S.WAITING, 200, cursor,
                                                     caller.owner_filter))
            for order in page.orders:
                with contextlib.suppress(NotCancellable, OrderNotFound):
                    cancelled.append((await self.cancel(order.id, caller)).id)
            if page.next_cursor is None:
                return cancelled
            cursor = page.next_cursor

    async def get(self, order_id: str, caller: Caller = LOCAL) -> Order:
        """The order, if it exists and this caller may see it (OrderNotFound otherwise)."""
        order = await read(self._store.get(order_id))
        if order is None or not caller.sees(order.owner):
            raise OrderNotFound(f"no order {order_id[:64]!r}")
        return order

    async def events(self, order_id: str, after: int = 0) -> list[StoredEvent]:
        """An order's stored events with seq > after: from memory for the latest orders, whose
        events this process published, whole (a stream subscribed before asking gets any
        event committed since), else from the store."""
        kept = self._hub.histories.after(order_id, after)
        return kept if kept is not None else await read(self._store.events(order_id, after))

    async def page(self, status: S | None, limit: int, cursor: str | None,
                   caller: Caller = LOCAL) -> tuple[Page, int]:
        """A page of the caller's orders, newest first, and the feed position read before it
        (a firehose opened after that position misses nothing the page does not show)."""
        gseq = await read(self._store.last_gseq())
        page = self._store.page(status, limit, cursor, caller.owner_filter)
        return await read(page), gseq

    async def feed_end(self) -> int:
        """The feed's last position: the gseq of the last event committed, by any process."""
        return await read(self._store.last_gseq())

    async def feed(self, after: int, limit: int) -> list[StoredEvent]:
        """All orders' events with gseq > after, in feed order."""
        return await read(self._store.feed(after, limit))

    def subscribe(self, order_id: str | None) -> Subscription:
        """Live events of one order, or of every order (None: the firehose)."""
        return self._hub.subscribe(ALL if order_id is None else order_id)

    def unsubscribe(self, subscription: Subscription) -> None:
        self._hub.unsubscribe(subscription)

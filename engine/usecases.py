"""The engine's use cases: what the API may ask of it, and nothing about how it is built.

Built by the composition root (`engine.app`) from collaborators it made; the API calls these
methods and never reaches past them into the store, the queue, the watcher or the chain.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import TypeVar

from loguru import logger

from engine.domain.access import LOCAL, Caller, Scope
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
from engine.domain.request import SwapMode
from engine.domain.risk import TradingState
from engine.domain.routing import RoutePlan
from engine.domain.status import OrderStatus as S
from engine.domain.transactions import TokenBalance
from engine.hub import ALL, Hub, Subscription
from engine.keyring import KeyMode, KeyRing
from engine.metrics import Metrics
from engine.orders.risk_controls import RiskControls
from engine.orders.router import Router
from engine.orders.service import OrderService
from engine.orders.twap import TwapScheduler
from engine.orders.watcher import Watcher
from engine.orders.workers import MAX_CRASHES, WorkerPool
from engine.ports import (
    Chain,
    Clock,
    DuplicateKey,
    IdempotencyKey,
    OrderStore,
    Page,
    StaleOrder,
    StorageError,
)

T = TypeVar("T")
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
class Submitted:
    order_id: str
    replayed: bool = False  # the same Idempotency-Key and body were accepted before


@dataclass(frozen=True, slots=True)
class Risk:
    state: TradingState
    max_order_usd: Decimal | None
    max_open_orders: int | None
    open_orders: int


@dataclass(frozen=True, slots=True)
class Health:
    accepting: bool
    workers: int
    queued: int
    in_flight: int
    waiting: int
    subscribers: int
    peak_in_flight: int  # the most orders that ever executed at once (at most `workers`)


class Engine:
    def __init__(self, *, store: OrderStore, chain: Chain, clock: Clock, router: Router,
                 service: OrderService, pool: WorkerPool, watcher: Watcher,
                 twap: TwapScheduler, hub: Hub,
                 metrics: Metrics, keyring: KeyRing, risk: RiskControls, workers: int,
                 shutdown_grace: float,
                 send_timeout: float, max_waiting: int, max_waiting_per_key: int) -> None:
        self._store, self._chain, self._clock, self._router = store, chain, clock, router
        self._service, self._pool, self._watcher, self._twap = service, pool, watcher, twap
        self._hub, self._metrics, self._keyring, self._risk = hub, metrics, keyring, risk
        self._workers, self._grace = workers, shutdown_grace
        self._max_waiting, self._max_waiting_per_key = max_waiting, max_waiting_per_key
        self.send_timeout = send_timeout  # seconds a subscriber gets to take one frame
        self._accepting = False
        self._keys_in_progress: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------------------
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
        self._accepting = True

    async def _end_repeat_killers(self, orders: list[Order]) -> list[Order]:
        """Count, durably, the orders that were executing when the process stopped; fail those
        it stopped during MAX_CRASHES times in a row (an order that kills the process, natively
        or by memory, would otherwise run at every start). A submitted one is left to the
        chain's answer: its transaction may have landed."""
        known = await self._read(self._store.engine_value(INTERRUPTED))
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
        self._service.resumed |= {order.id for order in orders}
        for order in orders:
            if order.status is S.WAITING:
                self.hand_to_waker(order)  # re-armed: it waits for its price (or its slices) again
            else:
                self._pool.enqueue(order)
        if orders:
            logger.info("resuming {} unfinished orders from the store", len(orders))

    def moved_elsewhere(self, order_id: str) -> None:
        """Another engine process moved a waiting order on (cancelled it, say): stop
        watching it here."""
        self._watcher.disarm(order_id)
        self._twap.disarm(order_id)

    def hand_to_waker(self, order: Order) -> None:
        """A waiting order goes to what wakes it: the price watcher, or its TWAP schedule."""
        if order.request.schedule is not None:
            self._twap.arm(order)
        else:
            self._watcher.arm(order)

    @property
    def waiting(self) -> int:
        return self._watcher.waiting + self._twap.running

    async def stop(self) -> None:
        """Refuse new orders, let executing ones finish within the grace period."""
        self._accepting = False
        await self._watcher.stop()
        await self._twap.stop()
        await self._pool.stop(self._grace)

    def release_streams(self) -> None:
        """The server is closing every WebSocket: hand each directly written subscriber back
        to its handler, so nothing is written to a socket after its close frame."""
        self._hub.detach_all()

    # -- access --------------------------------------------------------------------------------
    def authenticate(self, secret: str) -> Caller | None:
        """The caller an API key stands for; None for an unknown or revoked key."""
        return self._keyring.caller(secret)

    @property
    def keys_required(self) -> bool:
        """Whether every request needs a key: keys exist, or were revoked and not unlocked."""
        return self._keyring.any_active

    @property
    def key_mode(self) -> KeyMode:
        return self._keyring.mode

    def scope_of(self, name: str) -> Scope | None:
        """The scope of the active key of that name; None once it is revoked."""
        return self._keyring.scope_of(name)

    async def keys_changed(self) -> None:
        """Return at the next change of the keys."""
        await self._keyring.changed()

    async def refresh_keys(self) -> None:
        """Follow key changes made while running (a task: it never returns)."""
        await self._keyring.run()

    async def reload_keys(self) -> None:
        """Read the keys now (after `keys create` or `keys revoke`, in tests)."""
        await self._keyring.refresh()

    # -- orders ------------------------------------------------------------------------------
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
            known = await self._read(self._store.find_key(key.key))
            if known is None:
                try:
                    return Submitted((await self._accept(body, key, caller)).id)
                except DuplicateKey:  # another engine process stored it a moment ago
                    known = await self._read(self._store.find_key(key.key))
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
        if not self._accepting:
            raise NotAccepting("the engine is not accepting orders")
        request = parse_order(body, self._clock.now())
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
            logger.error("order not stored: {}", error)
            raise StorageUnavailable("the order could not be stored; nothing was accepted") \
                from None
        except BaseException:
            self._pool.release()
            raise
        self._pool.enqueue(order, reserved=True)
        return order

    def _admit_waiting(self, caller: Caller) -> None:
        if self.waiting >= self._max_waiting:
            raise TooManyWaiting(f"{self._max_waiting} orders are waiting already",
                                 retry_after=60)
        if caller.name is not None and (
                self._watcher.waiting_of(caller.name)
                + self._twap.running_of(caller.name) >= self._max_waiting_per_key):
            raise TooManyWaiting(f"this key has {self._max_waiting_per_key} orders waiting; "
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
            self._watcher.disarm(order_id)
            self._twap.disarm(order_id)
            logger.bind(order_id=order_id).info("cancelled by {}", caller.name or "local")
            return order

    async def cancel_waiting(self, caller: Caller = LOCAL) -> list[str]:
        """Cancel every waiting order the caller owns (all of them for an admin); their ids."""
        cancelled: list[str] = []
        cursor: str | None = None
        while True:
            page = await self._read(self._store.page(S.WAITING, 200, cursor,
                                                     caller.owner_filter))
            for order in page.orders:
                with contextlib.suppress(NotCancellable, OrderNotFound):
                    cancelled.append((await self.cancel(order.id, caller)).id)
            if page.next_cursor is None:
                return cancelled
            cursor = page.next_cursor

    async def get(self, order_id: str, caller: Caller = LOCAL) -> Order:
        """The order, if it exists and this caller may see it (OrderNotFound otherwise)."""
        order = await self._read(self._store.get(order_id))
        if order is None or not caller.sees(order.owner):
            raise OrderNotFound(f"no order {order_id[:64]!r}")
        return order

    async def events(self, order_id: str, after: int = 0) -> list[StoredEvent]:
        """An order's stored events with seq > after."""
        return await self._read(self._store.events(order_id, after))

    async def page(self, status: S | None, limit: int, cursor: str | None,
                   caller: Caller = LOCAL) -> tuple[Page, int]:
        """A page of the caller's orders, newest first, and the feed position read before it
        (a firehose opened after that position misses nothing the page does not show)."""
        gseq = await self._read(self._store.last_gseq())
        page = self._store.page(status, limit, cursor, caller.owner_filter)
        return await self._read(page), gseq

    async def feed(self, after: int, limit: int) -> list[StoredEvent]:
        """All orders' events with gseq > after, in feed order."""
        return await self._read(self._store.feed(after, limit))

    def subscribe(self, order_id: str | None) -> Subscription:
        """Live events of one order, or of every order (None: the firehose)."""
        return self._hub.subscribe(ALL if order_id is None else order_id)

    def unsubscribe(self, subscription: Subscription) -> None:
        self._hub.unsubscribe(subscription)

    # -- risk --------------------------------------------------------------------------------
    def risk(self) -> Risk:
        r = self._risk
        return Risk(r.state, r.max_order_usd, r.max_open_orders, r.open_orders)

    async def set_trading_state(self, state: TradingState, caller: Caller = LOCAL) -> Risk:
        """Halt or resume trading (admin); kept across restarts."""
        try:
            await self._risk.set_state(state)
        except StorageError as error:
            raise StorageUnavailable(f"the trading state could not be stored: {error}") from None
        logger.warning("trading set {} by {}", state.value, caller.name or "local")
        return self.risk()

    # -- market ------------------------------------------------------------------------------
    async def quote(self, mint_in: str, mint_out: str, amount: int,
                    mode: SwapMode = SwapMode.EXACT_IN) -> RoutePlan:
        """The best plan now for this amount (of the input, or of the output for ExactOut);
        raises NoRoute."""
        return await self._router.plan(mint_in, mint_out, amount, mode)

    async def wallet(self) -> tuple[str, Sequence[TokenBalance]]:
        """The wallet's address (its public key) and its balances, from the cluster."""
        return self._chain.address, await self._chain.balances()

    # -- operations --------------------------------------------------------------------------
    def health(self) -> Health:
        return Health(self._accepting, self._workers, self._pool.queued, self._pool.in_flight,
                      self.waiting, self._hub.subscriber_count,
                      self._pool.peak_in_flight)

    def refused(self, code: str) -> None:
        """Count a request refused with this code (for /metrics)."""
        self._metrics.refusals.labels(code).inc()

    def metrics_text(self) -> bytes:
        return self._metrics.render()

    @staticmethod
    async def _read(pending: Awaitable[T]) -> T:
        try:
            return await pending
        except StorageError as error:
            raise StorageUnavailable(f"the store could not be read: {error}") from None

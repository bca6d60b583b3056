"""Executing one order: each step is advance -> persist -> publish, and every step can resume."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from decimal import Decimal
from uuid import uuid4

from loguru import logger

from engine.domain.errors import (
    BlockhashExpired,
    EngineError,
    FirstHopSlipped,
    InsufficientFunds,
    InternalError,
    NoRoute,
    PermanentError,
    RetriesExhausted,
    SlippageExceeded,
    TransientError,
)
from engine.domain.events import (
    Armed,
    Cancelled,
    Change,
    Expired,
    Failed,
    Failure,
    Filled,
    OrderEvent,
    PriceUpdated,
    Routed,
    Sent,
    Signed,
    StoredEvent,
    TriggerMoved,
)
from engine.domain.landing import landing
from engine.domain.order import Order, OrderRequest
from engine.domain.status import OrderStatus as S
from engine.domain.tokens import WSOL_MINT
from engine.domain.transactions import Landed, Memo
from engine.orders import order_log
from engine.orders.retry import RetryPolicy
from engine.orders.router import Router
from engine.ports import Chain, Clock, IdempotencyKey, OrderStore, Publisher, StaleOrder


class OrderService:
    def __init__(self, store: OrderStore, publisher: Publisher, router: Router,
                 chain: Chain, clock: Clock, policy: RetryPolicy,
                 new_id: Callable[[], str] = lambda: str(uuid4())) -> None:
        self._store, self._publisher, self._router = store, publisher, router
        self._chain, self._clock, self._policy, self._new_id = chain, clock, policy, new_id
        # Orders picked up again at start-up: their next event says so.
        self._resumed: set[str] = set()
        # Per order, writes queued but not yet known durable (see `_stage`). A cancel racing a
        # worker may wait on the worker's writes too; each write queued after a refused one is
        # refused as well, so the worker still learns of the refusal from its own last write.
        self._unsynced: dict[str, list[asyncio.Future[StoredEvent]]] = {}

    def resuming(self, order_ids: Iterable[str]) -> None:
        """Orders picked up again (at start-up, or taken over): their next event says so."""
        self._resumed.update(order_ids)

    async def create(self, request: OrderRequest, key: IdempotencyKey | None = None,
                     owner: str | None = None, *, order_id: str | None = None,
                     parent: str | None = None) -> Order:
        """Store a new order durably, then announce it; the caller queues it."""
        order, event = Order.accept(order_id or self._new_id(), request, self._clock.now(),
                                    owner, parent)
        self._publisher.publish(event, await self._store.create(order, event, key), order)
        return order

    async def execute(self, order: Order) -> Order:
        """Drive an order to a terminal status, or park it in `waiting` for the watcher.

        An order that arrives in `waiting` was fired by the watcher: its price is met."""
        # The attempt in progress (resuming mid-attempt) or the next one; a limit order fired
        # again after a slippage re-arm numbers on, with a fresh retry budget for this firing.
        in_attempt = order.status in (S.BUILDING, S.SUBMITTED)
        attempt = max(order.attempts if in_attempt else order.attempts + 1, 1)
        first = attempt if order.status is S.WAITING else 1
        try:
            return await self._run(order, attempt, first)
        except BaseException:
            # A crash left writes queued: their callbacks still run. (A run that ends, in a
            # terminal status or parked in `waiting`, waited for its last write already, and
            # a parked order may be executing in another worker by the time this one returns.)
            self._unsynced.pop(order.id, None)
            raise

    async def _run(self, order: Order, attempt: int, first: int) -> Order:
        rebuild, previous = False, None
        last_error: TransientError | None = None
        while not order.status.terminal:
            if order.status is S.WAITING and previous is not None:
                break  # parked: its `armed` event hands it to what wakes it
            try:
                if rebuild and isinstance(last_error, FirstHopSlipped):
                    step = self._route(order, after=last_error)  # a fresh route, then sign
                elif rebuild and order.status in (S.PENDING, S.WAITING):  # not yet routed
                    step = self._route(order)  # (no venue could be asked for a quote)
                elif rebuild:
                    step = self._sign(order, attempt, last_error)
                else:  # a transaction submitted by this very loop has certainly not been sent yet
                    step = self._step(order, attempt, fresh=previous is S.BUILDING)
                previous, order, rebuild = order.status, await step, False
            except PermanentError as error:
                order = await self._fail(order, error)
            except TransientError as error:
                if attempt - first + 1 >= self._policy.max_attempts:
                    return await self._exhausted(order, attempt, error)
                logger.bind(order_id=order.id).warning(
                    "attempt {} failed transiently ({}); retrying", attempt, error.code)
                await self._clock.sleep(self._policy.backoff(attempt))
                attempt, rebuild, last_error = attempt + 1, True, error
        return order

    async def _exhausted(self, order: Order, attempt: int, error: TransientError) -> Order:
        """Out of attempts, every one failed transiently. A market order fails; one that waits
        for its price waits again, as after a slippage failure: a stop must not vanish because
        the node was down when it fired. Nothing of this firing can land any more (a send that
        may have left was waited out until its blockhash expired)."""
        gave_up = f"gave up after {attempt} attempts; last error {error.code}: {error.message}"
        if order.request.waits:
            return await self._advance(order, Armed(f"re-armed: {gave_up}",
                                                    error=Failure(error.code, error.message)))
        return await self._fail(order, RetriesExhausted(gave_up))

    async def _step(self, order: Order, attempt: int, *, fresh: bool) -> Order:
        if order.status is S.PENDING and order.request.waits:
            return await self._advance(order, Armed(order.request.order_type.armed()))
        if order.status in (S.PENDING, S.WAITING):
            return await self._route(order)
        if order.status is S.ROUTING:
            return await self._sign(order, attempt)
        if order.status is S.BUILDING:
            return self._stage(order, Sent(order.attempts))
        return await self._settle(order, fresh=fresh)

    async def _advance(self, order: Order, change: Change) -> Order:
        """Apply a change and wait until it (and every earlier step of the order) is durable."""
        order = self._stage(order, change)
        await self._synced(order.id)
        return order

    def _stage(self, order: Order, change: Change) -> Order:
        """Apply a change and queue its write without waiting: the steps that only compute
        (route, sign) share one commit. Each event is published once its write is durable."""
        resumed = order.id in self._resumed
        self._resumed.discard(order.id)
        previous = order.status
        order, event = order.apply(change, self._clock.now(), resumed=resumed)
        durable = self._store.record(order, event, previous)
        durable.add_done_callback(lambda stored: self._publish(event, stored, order))
        self._unsynced.setdefault(order.id, []).append(durable)
        return order

    def _publish(self, event: OrderEvent, durable: asyncio.Future[StoredEvent],
                 order: Order) -> None:
        if not durable.cancelled() and durable.exception() is None:
            self._publisher.publish(event, durable.result(), order)

    async def _synced(self, order_id: str) -> None:
        """Wait for the order's queued writes; raise the first that failed (StaleOrder, say)."""
        results = await asyncio.gather(*self._unsynced.pop(order_id, ()), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def advance(self, order: Order, change: Change) -> Order:
        """A step taken outside a worker (a TWAP parent's slices), once durable."""
        return await self._advance(order, change)

    async def update_waiting(self, order: Order, price: Decimal) -> Order:
        """A price update for an order's subscribers (the watcher rate-limits these)."""
        return await self._advance(order, PriceUpdated(price))

    async def move(self, order: Order, mark: Decimal) -> Order:
        """Keep a waiting order's new mark (see `OrderType.moved`): its trigger follows."""
        return await self._advance(order, TriggerMoved(mark))

    async def cancel(self, order: Order, reason: str) -> Order:
        """Cancel an order that has not started executing."""
        return await self._advance(order, Cancelled(reason))

    async def expire(self, order_id: str, reason: str) -> None:
        """Expire a waiting order whose time ran out, unless it started executing meanwhile
        (StaleOrder: then it finishes normally)."""
        order = await self._store.get(order_id)
        if order is not None and order.status in (S.PENDING, S.WAITING):
            with contextlib.suppress(StaleOrder):
                await self._advance(order, Expired(reason))

    async def give_up(self, order_id: str, error: Exception) -> None:
        """Fail an order whose execution keeps raising unexpectedly (never twice: StaleOrder
        means it moved on meanwhile, and a terminal order is left as it is). A submitted one
        may still land: it is left for the start-up reconciliation, which asks the chain."""
        failure = InternalError(f"execution failed {type(error).__name__}: {str(error)[:200]}")
        while True:  # a crashed run's last writes may still be landing: read again until done
            order = await self._store.get(order_id)
            if order is None or order.status.terminal:
                return
            if order.status is S.SUBMITTED:
                logger.bind(order_id=order_id).error(
                    "execution keeps failing after its transaction was sent ({}); it resumes "
                    "at the next start, which asks the chain first", type(error).__name__)
                return
            with contextlib.suppress(StaleOrder):
                await self._fail(order, failure)
                return

    async def _route(self, order: Order, after: TransientError | None = None) -> Order:
        r = order.request
        try:
            plan = await self._router.plan(r.token_in.mint, r.token_out.mint, r.amount,
                                           r.swap_mode)
        except NoRoute as error:
            if not r.waits:
                raise
            return await self._advance(order, Armed(f"not yet: {error.message}"))
        price = r.net_price(plan.amount_in, plan.amount_out)
        if r.waits and not r.order_type.met(price, order.mark):
            return await self._advance(order, Armed("price moved away before execution", price))
        order_log.routed(order, plan)
        resumed = order.id in self._resumed
        order = self._stage(order, Routed(plan, price, r.order_type.leg(price),
                                          Failure.of(after) if after is not None else None))
        if resumed:
            # Durable before signing: an order whose signing or simulation (native code) takes
            # the process down is then counted at the next start (Operations' repeat killers).
            await self._synced(order.id)
        return order

    async def _sign(self, order: Order, attempt: int,
                    after: TransientError | None = None) -> Order:
        r, plan = order.request, order.route
        assert plan is not None
        instructions = r.swaps(plan)
        blockhash = await self._chain.latest_blockhash()
        tx = await self._chain.sign(instructions, blockhash, Memo(order.id, attempt),
                                    r.priority)
        previous = Failure.of(after) if after is not None else None
        return self._stage(order, Signed(attempt, tx, previous))

    async def _settle(self, order: Order, *, fresh: bool) -> Order:
        """Send (or rebroadcast) the signed transaction and wait for its fate."""
        tx = order.tx
        assert tx is not None
        await self._synced(order.id)  # write-ahead: the signature is on disk before it can land
        if not fresh:  # a previous run may have sent it: ask the chain before sending anything
            try:
                landed = await self._chain.signature_status(tx.signature)
            except TransientError:
                # Not known yet. It must not be signed again (it may still land): the same
                # bytes are sent again, which lands once at most, and its fate waited for.
                landed = None
            if landed is not None:
                return await self._finish(order, landed)
        try:
            await self._chain.send(tx)
        except SlippageExceeded as error:  # the node's preflight: the price moved since routing
            if not order.request.waits:
                raise
            return await self._advance(order, Armed("re-armed after a slippage failure",
                                                    error=Failure(error.code, error.message)))
        except InsufficientFunds as error:  # the node's words name an instruction: say what
            raise InsufficientFunds(f"{await self._short(order)} ({error.message})") from None
        except TransientError as error:
            if fresh and not error.maybe_landed:
                raise  # refused before it left us: re-signing cannot produce a second copy
            logger.bind(order_id=order.id).warning(
                "{} for {}: waiting for it to land or expire", error.code, tx.signature)
        landed = await self._chain.confirm(tx)
        if landed is None:
            raise BlockhashExpired(f"transaction {tx.signature} expired without landing")
        return await self._finish(order, landed)

    async def _short(self, order: Order) -> str:
        """What the wallet lacks for this order, from its balances now."""
        assert order.route is not None
        try:
            # Reversed: the first, native SOL's lamports, wins over a wSOL token account.
            balances = {b.mint: b.atoms for b in reversed(await self._chain.balances())}
        except EngineError:
            return "the wallet cannot pay for it"
        r = order.request
        return r.shortfall(order.route, balances.get(r.token_in.mint, 0),
                           balances.get(WSOL_MINT, 0))

    async def _finish(self, order: Order, landed: Landed) -> Order:
        change = landing(order, landed)  # a failure is raised, to retry or fail in `_run`
        if isinstance(change, Filled):
            order_log.filled(order, change.fill)
        return await self._advance(order, change)

    async def _fail(self, order: Order, error: EngineError) -> Order:
        logger.bind(order_id=order.id).warning("failed {}: {}", error.code, error.message)
        return await self._advance(order, Failed(Failure.of(error)))

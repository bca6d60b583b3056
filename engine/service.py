"""Executing one order: each step is advance -> persist -> publish, and every step can resume."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol
from uuid import uuid4

from loguru import logger

from engine.domain.errors import (
    BlockhashExpired,
    EngineError,
    NoRoute,
    PermanentError,
    RetriesExhausted,
    SlippageExceeded,
    TransientError,
)
from engine.domain.order import Order, OrderRequest, OrderType, StatusChanged
from engine.domain.routing import RoutePlan
from engine.domain.status import OrderStatus as S
from engine.domain.transactions import Landed, SignedTransaction, SwapInstruction
from engine.ports import Chain, Clock, IdempotencyKey, OrderStore, StaleOrder
from engine.router import Router

SNIPER_PRIORITY_FEE = 500_000  # micro-lamports per compute unit: 100,000 lamports per swap


class Publisher(Protocol):
    def publish(self, event: StatusChanged) -> None: ...


@dataclass(frozen=True)
class Fanout:
    """Publish each event to several publishers (the hub, the metrics)."""

    publishers: tuple[Publisher, ...]

    def publish(self, event: StatusChanged) -> None:
        for publisher in self.publishers:
            publisher.publish(event)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts in total (not retries) and an exponential backoff, scaled with the simulation."""

    max_attempts: int = 3
    base: float = 0.5
    cap: float = 2.0
    scale: float = 1.0

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt n: 0.5 s, 1 s, 2 s (cap), times `scale`."""
        return min(self.base * 2.0 ** (attempt - 1), self.cap) * self.scale


class OrderService:
    def __init__(self, store: OrderStore, publisher: Publisher, router: Router,
                 chain: Chain, clock: Clock, policy: RetryPolicy,
                 new_id: Callable[[], str] = lambda: str(uuid4())) -> None:
        self._store, self._publisher, self._router = store, publisher, router
        self._chain, self._clock, self._policy, self._new_id = chain, clock, policy, new_id
        # Called at each step boundary; a crash test makes it raise to stop the engine there.
        self.checkpoint: Callable[[str], None] = lambda step: None
        # Hands a waiting limit or sniper order to the price watcher.
        self.on_waiting: Callable[[Order], None] = lambda order: None
        # Orders picked up again at start-up: their next event says so.
        self.resumed: set[str] = set()
        # Per order, writes queued but not yet known durable (see `_stage`). A cancel racing a
        # worker may wait on the worker's writes too; each write queued after a refused one is
        # refused as well, so the worker still learns of the refusal from its own last write.
        self._unsynced: dict[str, list[asyncio.Future[StatusChanged]]] = {}

    async def create(self, request: OrderRequest, key: IdempotencyKey | None = None) -> Order:
        """Store a new order durably, then announce it; the caller queues it."""
        order, event = Order.accept(self._new_id(), request, self._clock.now())
        self._publisher.publish(await self._store.create(order, event, key))
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
        finally:
            self._unsynced.pop(order.id, None)  # a crash left them: their callbacks still run

    async def _run(self, order: Order, attempt: int, first: int) -> Order:
        rebuild, previous = False, None
        last_error: TransientError | None = None
        while not order.status.terminal:
            if order.status is S.WAITING and previous is not None:
                self.on_waiting(order)
                break
            try:
                if rebuild:
                    step = self._build(order, attempt, last_error)
                else:  # a transaction submitted by this very loop has certainly not been sent yet
                    step = self._step(order, attempt, fresh=previous is S.BUILDING)
                previous, order, rebuild = order.status, await step, False
            except PermanentError as error:
                order = await self._fail(order, error)
            except TransientError as error:
                if attempt - first + 1 >= self._policy.max_attempts:
                    exhausted = RetriesExhausted(
                        f"gave up after {attempt} attempts; last error {error.code}: {error.message}")
                    order = await self._fail(order, exhausted)
                    continue
                logger.bind(order_id=order.id).warning(
                    "attempt {} failed transiently ({}); retrying", attempt, error.code)
                await self._clock.sleep(self._policy.backoff(attempt))
                attempt, rebuild, last_error = attempt + 1, True, error
        return order

    async def _step(self, order: Order, attempt: int, *, fresh: bool) -> Order:
        if order.status is S.PENDING and order.request.trigger is not None:
            return await self._wait(order, {"reason": "armed: waiting for the price"
                                            if order.request.min_price else "armed"})
        if order.status in (S.PENDING, S.WAITING):
            return await self._route(order)
        if order.status is S.ROUTING:
            return await self._build(order, attempt)
        if order.status is S.BUILDING:
            return await self._mark_sent(order)
        return await self._settle(order, fresh=fresh)

    async def _advance(self, order: Order, to: S, details: Mapping[str, Any],
                       **changes: Any) -> Order:
        """Move the order on and wait until this (and every earlier) step of it is durable."""
        order = self._stage(order, to, details, **changes)
        await self._synced(order.id)
        return order

    def _stage(self, order: Order, to: S, details: Mapping[str, Any], **changes: Any) -> Order:
        """Move the order on and queue its write without waiting: the steps that only compute
        (route, sign) share one commit. Each event is published once its write is durable."""
        if order.id in self.resumed:
            self.resumed.discard(order.id)
            details = {**details, "resumed": True}
        previous = order.status
        order, event = order.advance(to, self._clock.now(), details, **changes)
        durable = self._store.record(order, event, previous)
        durable.add_done_callback(self._publish)
        self._unsynced.setdefault(order.id, []).append(durable)
        return order

    def _publish(self, durable: asyncio.Future[StatusChanged]) -> None:
        if not durable.cancelled() and durable.exception() is None:
            self._publisher.publish(durable.result())

    async def _synced(self, order_id: str) -> None:
        """Wait for the order's queued writes; raise the first that failed (StaleOrder, say)."""
        results = await asyncio.gather(*self._unsynced.pop(order_id, ()), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _wait(self, order: Order, details: dict[str, Any]) -> Order:
        trigger = order.request.trigger
        assert trigger is not None
        return await self._advance(order, S.WAITING,
                                   {**trigger.to_dict(order.request.order_type), **details})

    async def update_waiting(self, order: Order, price: Decimal) -> Order:
        """A price update for an order's subscribers (the watcher rate-limits these)."""
        return await self._advance(order, S.WAITING, {"currentPrice": _price(price)})

    async def cancel(self, order: Order, reason: str) -> Order:
        """Cancel an order that has not started executing."""
        return await self._advance(order, S.CANCELLED, {"reason": reason})

    async def expire(self, order_id: str, reason: str) -> None:
        """Expire a waiting order whose time ran out, unless it started executing meanwhile
        (StaleOrder: then it finishes normally)."""
        order = await self._store.get(order_id)
        if order is not None and order.status in (S.PENDING, S.WAITING):
            with contextlib.suppress(StaleOrder):
                await self._advance(order, S.EXPIRED, {"reason": reason})

    async def _route(self, order: Order) -> Order:
        r = order.request
        try:
            plan = await self._router.plan(r.token_in.mint, r.token_out.mint, r.amount_in)
        except NoRoute as error:
            if r.trigger is None:
                raise
            return await self._wait(order, {"reason": f"not yet: {error.message}"})
        self.checkpoint("quoted")
        price = r.token_out.to_ui(plan.amount_out) / r.token_in.to_ui(r.amount_in)
        if r.min_price is not None and price < r.min_price:
            return await self._wait(order, {"reason": "price moved away before execution",
                                            "currentPrice": _price(price)})
        logger.bind(order_id=order.id).info(
            "routing {} {}->{}: {} | quotes {} | plan {}", r.token_in.format(r.amount_in),
            r.token_in.symbol, r.token_out.symbol, plan.reason,
            ", ".join(f"{q.venue}={r.token_out.format(q.amount_out)}" for q in plan.quotes),
            ", ".join(f"{plan.percent(leg)}% {leg.venue}" for leg in plan.legs))
        route = plan.to_dict()
        details = {"venue": plan.venue, "reason": plan.reason, "route": route,
                   "expectedPrice": _price(price),
                   "expectedOut": r.token_out.format(plan.amount_out),
                   "minAmountOut": r.token_out.format(r.min_out(plan.amount_out))}
        return self._stage(order, S.ROUTING, details, route=route)

    async def _build(self, order: Order, attempt: int,
                     after: TransientError | None = None) -> Order:
        r = order.request
        assert order.route is not None
        plan = RoutePlan.from_dict(dict(order.route), r.token_in.mint, r.token_out.mint)
        instructions = [SwapInstruction(leg.venue, leg.pool, leg.mint_in, leg.mint_out,
                                        leg.amount_in, r.min_out(leg.amount_out))
                        for leg in plan.legs]
        blockhash = await self._chain.latest_blockhash()
        urgent = r.order_type is OrderType.SNIPER  # pay to land in the launch slot
        tx = self._chain.sign(instructions, blockhash, memo=f"order:{order.id}:{attempt}",
                              priority_fee=SNIPER_PRIORITY_FEE if urgent else None)
        self.checkpoint("signed")
        details = {"attempt": attempt, "txHash": tx.signature,
                   "lastValidBlockHeight": tx.last_valid_height,
                   "instructions": _describe(order, plan)}
        if after is not None:  # why this is not the first attempt
            details["previousError"] = after.to_dict()
        return self._stage(order, S.BUILDING, details, attempts=attempt, tx=tx.to_dict())

    async def _mark_sent(self, order: Order) -> Order:
        assert order.tx is not None
        details = {"attempt": order.attempts, "txHash": order.tx["signature"]}
        return self._stage(order, S.SUBMITTED, details)

    async def _settle(self, order: Order, *, fresh: bool) -> Order:
        """Send (or rebroadcast) the signed transaction and wait for its fate."""
        assert order.tx is not None
        tx = SignedTransaction.from_dict(dict(order.tx))
        await self._synced(order.id)  # write-ahead: the signature is on disk before it can land
        self.checkpoint("signature and submission persisted")
        if not fresh:  # a previous run may have sent it: ask the chain before sending anything
            landed = await self._chain.signature_status(tx.signature)
            if landed is not None:
                return await self._finish(order, landed)
        try:
            await self._chain.send(tx)
            self.checkpoint("sent")
        except TransientError as error:
            if fresh and not error.maybe_landed:
                raise  # refused before it left us: re-signing cannot produce a second copy
            logger.bind(order_id=order.id).warning(
                "{} for {}: waiting for it to land or expire", error.code, tx.signature)
        landed = await self._chain.confirm(tx)
        if landed is None:
            raise BlockhashExpired(f"transaction {tx.signature} expired without landing")
        self.checkpoint("landed")
        return await self._finish(order, landed)

    async def _finish(self, order: Order, landed: Landed) -> Order:
        if landed.err is not None and landed.err.startswith("SLIPPAGE") and order.request.trigger:
            # The price was met when we fired but moved before landing: wait for it again.
            return await self._wait(order, {"reason": "re-armed after a slippage failure",
                                            "error": {"code": "SLIPPAGE_EXCEEDED",
                                                      "message": landed.err_message}})
        if landed.err is not None:
            message = f"{landed.err_message or landed.err} (tx {landed.signature}, slot {landed.slot})"
            return await self._fail(order, SlippageExceeded(message) if landed.err.startswith(
                "SLIPPAGE") else PermanentError(message, code=landed.err))
        r = order.request
        price = r.token_out.to_ui(landed.amount_out) / r.token_in.to_ui(landed.amount_in)
        fill = {"txHash": landed.signature, "slot": landed.slot, "venue": (order.route or {}).get(
                    "venue"), "amountIn": r.token_in.format(landed.amount_in),
                "amountOut": r.token_out.format(landed.amount_out),
                "executedPrice": f"{price:.{r.token_out.decimals}f}",
                "networkFeeLamports": landed.fee_lamports, "commitment": landed.commitment,
                "ataRentLamports": landed.rent_lamports}
        opened = max((leg["poolOpenedSlot"] for leg in (order.route or {}).get("legs", [])
                      if leg.get("poolOpenedSlot") is not None), default=None)
        if r.order_type is OrderType.SNIPER and opened is not None:  # what snipers measure
            fill |= {"poolOpenedSlot": opened, "slotsAfterPoolOpened": landed.slot - opened}
        logger.bind(order_id=order.id).info("confirmed {}", fill)
        return await self._advance(order, S.CONFIRMED, {"attempt": order.attempts, **fill},
                                   fill=fill)

    async def _fail(self, order: Order, error: EngineError) -> Order:
        logger.bind(order_id=order.id).warning("failed {}: {}", error.code, error.message)
        details = {"attempt": order.attempts, "error": error.to_dict()}
        return await self._advance(order, S.FAILED, details, error=error.to_dict())


def _price(price: Decimal) -> str:
    return f"{price:.12g}"


def _describe(order: Order, plan: RoutePlan) -> list[str]:
    """The transaction's instructions in words, so the trader sees the SOL wrapping."""
    r = order.request
    steps = ["computeBudget.setComputeUnitPrice"]
    if r.token_in.is_native_sol:
        steps += ["createAssociatedTokenAccount(wSOL)", "system.transfer(SOL->wSOL)",
                  "token.syncNative(wSOL)"]
    elif r.token_out.is_native_sol:
        steps += ["createAssociatedTokenAccount(wSOL)"]
    steps += [f"{leg.venue}.swap({leg.pool})" for leg in plan.legs]
    if r.token_in.is_native_sol or r.token_out.is_native_sol:
        steps += ["token.closeAccount(wSOL->SOL)"]
    return steps

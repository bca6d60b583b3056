"""The order service on its own: a real SQLite store in a temp dir, a Router over a fake pool,
and a scripted chain that records what it is asked. No engine, no worker pool, no HTTP.

It drives an order step by step, writes each step before it publishes it, writes the signed
transaction before it can be sent, re-signs only what never left, and re-arms an order that
waits for its price instead of failing it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from stubs import SOL, OnePool, token

from engine.api.wire import EVENTS
from engine.domain.errors import (
    NodeUnhealthy,
    OutOfCompute,
    SendTimeout,
    SlippageExceeded,
    TransientError,
)
from engine.domain.events import Armed, OrderEvent, Routed, Signed, StoredEvent
from engine.domain.order import Order
from engine.domain.parsing import parse_order
from engine.domain.routing import Quote
from engine.domain.status import OrderStatus as S
from engine.domain.transactions import Blockhash, Landed, Memo, SignedTransaction, SwapInstruction
from engine.orders.fanout import Fanout
from engine.orders.retry import RetryPolicy
from engine.orders.router import Router
from engine.orders.service import OrderService
from engine.ports import OrderStore, StaleOrder
from engine.publishing.metrics import Metrics
from engine.store.sqlite import SqliteStore
from engine.testing import ManualClock


@dataclass
class ScriptedChain:
    """Lands every transaction for what the pool quoted, unless a fault is queued."""

    store: OrderStore
    send_faults: list[Exception] = field(default_factory=list)
    landing_errors: list[str] = field(default_factory=list)
    failed_hops: list[int] = field(default_factory=list)  # the hop each landing error names
    signed: list[tuple[int, Sequence[SwapInstruction]]] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    written_before_send: list[bool] = field(default_factory=list)
    status_faults: list[Exception] = field(default_factory=list)  # asking a transaction's fate
    stored_at_sign: list[S | None] = field(default_factory=list)  # the order's stored status
    _memos: dict[str, Memo] = field(default_factory=dict)
    _swaps: dict[str, Sequence[SwapInstruction]] = field(default_factory=dict)

    address = "wallet"

    async def latest_blockhash(self) -> Blockhash:
        return Blockhash(f"hash-{len(self.signed)}", 100)

    async def sign(self, instructions: Sequence[SwapInstruction], blockhash: Blockhash,
                   memo: Memo, priority: str | int = "auto") -> SignedTransaction:
        stored = await self.store.get(memo.order_id)
        self.stored_at_sign.append(stored.status if stored is not None else None)
        self.signed.append((memo.attempt, instructions))
        signature = f"sig-{memo.order_id[:4]}-{memo.attempt}"
        self._memos[signature], self._swaps[signature] = memo, instructions
        return SignedTransaction(signature, blockhash.last_valid_height, "payload")

    async def send(self, tx: SignedTransaction) -> None:
        stored = await self.store.get(self._memos[tx.signature].order_id)
        self.written_before_send.append(stored is not None and stored.tx == tx)
        if self.send_faults:
            raise self.send_faults.pop(0)
        self.sent.append(tx.signature)

    async def confirm(self, tx: SignedTransaction) -> Landed | None:
        err = self.landing_errors.pop(0) if self.landing_errors else None
        hop = self.failed_hops.pop(0) if err and self.failed_hops else None
        message = "slippage: 0x1773" if err else ""
        swaps = self._swaps[tx.signature]  # it swaps what was signed, for its floor
        if err:
            return Landed(tx.signature, 7, 0, 0, 5_000, err, message, failed_hop=hop)
        return Landed(tx.signature, 7, swaps[0].amount_in, swaps[-1].min_out, 5_000)

    async def signature_status(self, signature: str) -> Landed | None:
        if self.status_faults:
            raise self.status_faults.pop(0)
        return None

    async def balances(self) -> list[Any]:
        return []

    async def close(self) -> None:
        return None


@dataclass
class Published:
    events: list[OrderEvent] = field(default_factory=list)

    def publish(self, event: OrderEvent, stored: StoredEvent, order: Order) -> None:
        self.events.append(event)

    @property
    def statuses(self) -> list[str]:
        return [e.status.value for e in self.events]


@dataclass
class Parts:
    service: OrderService
    chain: ScriptedChain
    published: Published
    pool: OnePool
    store: OrderStore
    metrics: Metrics


@pytest_asyncio.fixture
async def parts(tmp_path: Path) -> AsyncIterator[Parts]:
    async with service_over(tmp_path, OnePool(Decimal(150))) as made:
        yield made


@contextlib.asynccontextmanager
async def service_over(tmp_path: Path, pool: OnePool) -> AsyncIterator[Parts]:
    """The service over this pool, a store in tmp_path, the scripted chain, and what it
    publishes recorded (and counted, as the metrics count it)."""
    store = await SqliteStore.open(str(tmp_path / "orders.db"), EVENTS)
    published, chain, metrics = Published(), ScriptedChain(store), Metrics()
    service = OrderService(store, Fanout([published, metrics]), Router([pool]), chain,
                           ManualClock(), RetryPolicy(scale=0.0))
    try:
        yield Parts(service, chain, published, pool, store, metrics)
    finally:
        await store.close()


async def place(parts: Parts, **body: Any) -> Order:
    request = parse_order({"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1,
                           "orderType": "market", **body}, ManualClock().now())
    return await parts.service.create(request)


async def test_a_market_order_is_driven_to_confirmed_and_each_step_is_stored_first(
        parts: Parts) -> None:
    order = await parts.service.execute(await place(parts))
    assert order.status is S.CONFIRMED and order.fill is not None
    assert parts.published.statuses == ["pending", "routing", "building", "submitted",
                                        "confirmed"]
    assert parts.chain.written_before_send == [True]  # write-ahead: the signature first
    stored = await parts.store.get(order.id)
    assert stored is not None and stored.status is S.CONFIRMED and stored.seq == 5


async def test_a_send_refused_before_it_left_is_signed_again_as_the_next_attempt(
        parts: Parts) -> None:
    parts.chain.send_faults.append(TransientError("node busy"))
    order = await parts.service.execute(await place(parts))
    assert order.status is S.CONFIRMED and order.attempts == 2
    assert [attempt for attempt, _ in parts.chain.signed] == [1, 2]
    assert parts.chain.sent == [f"sig-{order.id[:4]}-2"]


async def test_a_send_whose_outcome_is_unknown_waits_for_that_transaction_not_a_new_one(
        parts: Parts) -> None:
    parts.chain.send_faults.append(SendTimeout("no answer"))
    order = await parts.service.execute(await place(parts))
    assert order.status is S.CONFIRMED and order.attempts == 1
    assert len(parts.chain.signed) == 1  # it may have landed: nothing is signed twice


async def test_a_resumed_order_whose_fate_cannot_be_asked_is_sent_again_never_re_signed(
        parts: Parts) -> None:
    parts.chain.send_faults.append(RuntimeError("the process dies as it sends"))
    order = await place(parts)
    with pytest.raises(RuntimeError):
        await parts.service.execute(order)
    submitted = await parts.store.get(order.id)
    assert submitted is not None and submitted.status is S.SUBMITTED  # its signature is kept
    # At the next start the node cannot say what became of it: it may still land, so the
    # same signed bytes go again (they land once at most) rather than a second transaction.
    parts.chain.status_faults.append(NodeUnhealthy("Cannot connect to host"))
    parts.service.resuming([order.id])
    final = await parts.service.execute(submitted)
    assert final.status is S.CONFIRMED and final.attempts == 1
    assert len(parts.chain.signed) == 1
    assert parts.chain.sent == [f"sig-{order.id[:4]}-1"]


async def test_a_resumed_order_is_stored_routing_before_anything_native_runs(
        parts: Parts) -> None:
    # Signing (and a runtime's simulation of the transaction) is native code: an order that
    # takes the whole process down there must be stored as executing, or the next start does
    # not count it (see Operations' repeat killers), and it would die at every start.
    order = await place(parts)
    parts.service.resuming([order.id])
    assert (await parts.service.execute(order)).status is S.CONFIRMED
    assert parts.chain.stored_at_sign == [S.ROUTING]


async def test_a_waiting_order_whose_firing_ran_out_of_attempts_waits_again(
        parts: Parts) -> None:
    # A node that refuses every send of this firing: a stop or a limit must not vanish for it.
    parts.chain.send_faults += [NodeUnhealthy("node down")] * 3
    armed = await parts.service.execute(await place(parts, orderType="limit", limitPrice=140))
    rearmed = await parts.service.execute(armed)  # the watcher fired it
    assert rearmed.status is S.WAITING and rearmed.error is None
    last = parts.published.events[-1].change
    assert isinstance(last, Armed) and last.error is not None
    assert last.error.code == NodeUnhealthy.code
    assert last.reason.startswith("re-armed: gave up after 3 attempts; last error ")
    final = await parts.service.execute(rearmed)  # fired again once the node answers
    assert final.status is S.CONFIRMED and final.attempts == 4


async def test_an_order_no_venue_could_quote_is_routed_on_its_next_attempt(
        parts: Parts) -> None:
    parts.pool.quote_faults.append(NodeUnhealthy("getMultipleAccounts: Cannot connect"))
    order = await parts.service.execute(await place(parts))
    assert order.status is S.CONFIRMED
    assert parts.published.statuses == ["pending", "routing", "building", "submitted",
                                        "confirmed"]


async def test_a_fired_order_no_venue_could_quote_waits_again(parts: Parts) -> None:
    armed = await parts.service.execute(await place(parts, orderType="limit", limitPrice=140))
    parts.pool.quote_faults += [NodeUnhealthy("getMultipleAccounts: Cannot connect")] * 3
    rearmed = await parts.service.execute(armed)  # the watcher fired it; the node went away
    assert rearmed.status is S.WAITING and parts.chain.signed == []
    last = parts.published.events[-1].change
    assert isinstance(last, Armed) and last.error is not None
    assert last.error.code == NodeUnhealthy.code


async def test_a_market_order_that_ran_out_of_attempts_fails(parts: Parts) -> None:
    parts.chain.send_faults += [NodeUnhealthy("node down")] * 3
    order = await parts.service.execute(await place(parts))
    assert order.status is S.FAILED and order.error is not None
    assert order.error.code == "RETRIES_EXHAUSTED"


async def test_a_slipped_market_order_fails_and_a_slipped_limit_waits_again(
        parts: Parts) -> None:
    parts.chain.landing_errors.append(SlippageExceeded.code)
    market = await parts.service.execute(await place(parts))
    assert market.status is S.FAILED and market.error is not None
    assert market.error.code == SlippageExceeded.code
    parts.chain.landing_errors.append(SlippageExceeded.code)
    limit = await place(parts, orderType="limit", limitPrice=140)
    armed = await parts.service.execute(limit)  # armed: waiting for its price
    assert armed.status is S.WAITING
    rearmed = await parts.service.execute(armed)  # the watcher fired it; it slipped
    assert rearmed.status is S.WAITING
    assert parts.published.events[-1].change.error.code == (  # type: ignore[union-attr]
        SlippageExceeded.code)  # the re-arming event says why
    assert (await parts.service.execute(rearmed)).status is S.CONFIRMED


BONK = token("BONK").mint


class ThroughSol(OnePool):
    """SOL/USDC as OnePool, and a BONK/SOL pool (a BONK at 133 lamports): BONK -> USDC goes
    through SOL."""

    def has_pair(self, mint_in: str, mint_out: str) -> bool:
        return super().has_pair(mint_in, mint_out) or {mint_in, mint_out} == {BONK, SOL}

    async def quote(self, mint_in: str, mint_out: str, amount_in: int) -> Quote | None:
        if {mint_in, mint_out} != {BONK, SOL}:
            return await super().quote(mint_in, mint_out, amount_in)
        rate = 0.00133 if mint_in == BONK else 1 / 0.00133  # atoms: 5 decimals against 9
        return Quote(self.name, "bonk-pool", mint_in, mint_out, amount_in,
                     int(amount_in * rate), 0)


@pytest_asyncio.fixture
async def through_sol(tmp_path: Path) -> AsyncIterator[Parts]:
    async with service_over(tmp_path, ThroughSol(Decimal(150))) as made:
        yield made


async def a_bonk_sale(parts: Parts) -> Order:
    return await parts.service.create(parse_order(
        {"orderType": "market", "tokenIn": "BONK", "tokenOut": "USDC", "amount": 1_000_000},
        ManualClock().now()))


async def test_a_first_hop_that_slipped_is_routed_afresh_and_tried_again(
        through_sol: Parts) -> None:
    through_sol.chain.landing_errors.append(SlippageExceeded.code)
    through_sol.chain.failed_hops.append(0)  # the margin between the hops, not the order's
    order = await through_sol.service.execute(await a_bonk_sale(through_sol))
    assert order.status is S.CONFIRMED and order.attempts == 2
    assert through_sol.published.statuses == [
        "pending", "routing", "building", "submitted",
        "routing", "building", "submitted", "confirmed"]
    again = [e.change for e in through_sol.published.events if isinstance(e.change, Routed)][1]
    assert again.previous_error is not None
    assert again.previous_error.code == SlippageExceeded.code  # the fresh route says why
    assert 'engine_retries_total{code="SLIPPAGE_EXCEEDED"} 1.0' in (
        through_sol.metrics.render().decode())  # and it counts as a retry


async def test_a_final_hop_that_slipped_fails_the_order_on_its_own_bound(
        through_sol: Parts) -> None:
    through_sol.chain.landing_errors.append(SlippageExceeded.code)
    through_sol.chain.failed_hops.append(1)  # the order's own slippage floor
    order = await through_sol.service.execute(await a_bonk_sale(through_sol))
    assert order.status is S.FAILED and order.attempts == 1
    assert order.error is not None and order.error.code == SlippageExceeded.code


async def test_a_direct_route_that_slipped_fails_the_order(parts: Parts) -> None:
    parts.chain.landing_errors.append(SlippageExceeded.code)
    parts.chain.failed_hops.append(0)  # its only hop is its final one
    order = await parts.service.execute(await place(parts))
    assert order.status is S.FAILED and order.attempts == 1


async def test_a_landing_out_of_compute_is_simulated_and_signed_again(parts: Parts) -> None:
    parts.chain.landing_errors.append(OutOfCompute.code)  # it met more bins than simulated
    order = await parts.service.execute(await place(parts))
    assert order.status is S.CONFIRMED and order.attempts == 2
    assert [attempt for attempt, _ in parts.chain.signed] == [1, 2]
    second = next(e.change for e in parts.published.events
                  if isinstance(e.change, Signed) and e.change.attempt == 2)
    assert second.previous_error is not None
    assert second.previous_error.code == OutOfCompute.code  # the second attempt says why


async def test_a_fired_order_whose_price_moved_away_is_armed_again_without_a_transaction(
        parts: Parts) -> None:
    armed = await parts.service.execute(await place(parts, orderType="limit", limitPrice=149))
    parts.pool.usdc_per_sol = Decimal(140)  # gone below the limit before a worker took it
    again = await parts.service.execute(armed)
    assert again.status is S.WAITING and parts.chain.signed == []
    assert parts.published.events[-1].change.reason == (  # type: ignore[union-attr]
        "price moved away before execution")


class HeldPool(OnePool):
    """A venue whose quote waits until the test lets it answer."""

    def __init__(self, usdc_per_sol: Decimal) -> None:
        super().__init__(usdc_per_sol)
        self.asking, self.answer = asyncio.Event(), asyncio.Event()

    async def quote(self, mint_in: str, mint_out: str, amount_in: int) -> Quote | None:
        self.asking.set()
        await self.answer.wait()
        return await super().quote(mint_in, mint_out, amount_in)


async def test_a_cancel_that_beats_a_quoting_worker_stops_the_order_before_anything_is_sent(
        parts: Parts) -> None:
    pool = HeldPool(Decimal(150))
    service = OrderService(parts.store, parts.published, Router([pool]), parts.chain,
                           ManualClock(), RetryPolicy(scale=0.0))
    order = await service.create(parse_order({"tokenIn": "SOL", "tokenOut": "USDC",
                                              "amount": 1, "orderType": "market"},
                                             ManualClock().now()))
    working = asyncio.create_task(service.execute(order))
    await pool.asking.wait()  # the worker holds the order, waiting for its quote
    await service.cancel(order, "cancelled by its owner")
    pool.answer.set()
    with pytest.raises(StaleOrder):  # its routing, building and submitted writes are refused
        await working
    assert parts.published.statuses == ["pending", "cancelled"]
    assert parts.chain.sent == []
    stored = await parts.store.get(order.id)
    assert stored is not None and stored.status is S.CANCELLED

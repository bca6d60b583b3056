"""The SQLite store under group commit: a batch is all-or-nothing per write, never per batch."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest_asyncio

from engine.domain.order import Order, StatusChanged
from engine.domain.requests import parse_order
from engine.domain.status import OrderStatus as S
from engine.ports import IdempotencyKey, StaleOrder
from engine.store.sqlite import SqliteStore

AT = datetime(2026, 11, 25, tzinfo=UTC)
BODY = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1}


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(str(tmp_path / "s.db"))
    try:
        yield opened
    finally:
        await opened.close()


def new_order(n: int) -> tuple[Order, StatusChanged]:
    return Order.accept(f"order-{n}", parse_order(BODY, AT), AT)


async def test_writes_that_share_a_batch_get_consecutive_feed_positions(store: SqliteStore) -> None:
    stored = await asyncio.gather(*(store.create(*new_order(n)) for n in range(50)))
    assert sorted(e.gseq for e in stored) == list(range(1, 51))
    feed = await store.feed(0, 100)
    assert [(e.order_id, e.gseq) for e in feed] == sorted(
        ((e.order_id, e.gseq) for e in stored), key=lambda pair: pair[1])


async def test_a_stale_write_is_refused_and_its_batch_mates_still_commit(
        store: SqliteStore) -> None:
    orders = [new_order(n) for n in range(3)]
    await asyncio.gather(*(store.create(*pair) for pair in orders))
    moved = [order.advance(S.ROUTING, AT, {}) for order, _ in orders]
    stale = orders[1][0].advance(S.CANCELLED, AT, {})  # raced the worker for the same seq
    results = await asyncio.gather(*(store.record(*pair, S.PENDING) for pair in moved),
                                   store.record(*stale, S.PENDING), return_exceptions=True)
    assert [type(r) for r in results[:3]] == [StatusChanged] * 3
    assert isinstance(results[3], StaleOrder)
    assert [e.gseq for e in results[:3] if isinstance(e, StatusChanged)] == [4, 5, 6]
    assert [e.status for e in await store.events("order-1")] == [S.PENDING, S.ROUTING]
    later = await store.create(*new_order(9))
    assert later.gseq == 7  # the refused write left no hole in the feed


async def test_a_duplicate_idempotency_key_fails_only_its_own_order(store: SqliteStore) -> None:
    key = IdempotencyKey("k", "fingerprint", "")
    first, second, third = new_order(1), new_order(2), new_order(3)
    results = await asyncio.gather(store.create(*first, key), store.create(*second, key),
                                   store.create(*third), return_exceptions=True)
    assert isinstance(results[0], StatusChanged) and isinstance(results[2], StatusChanged)
    assert isinstance(results[1], Exception)
    assert await store.get("order-2") is None
    assert (await store.find_key("k")) == IdempotencyKey("k", "fingerprint", "order-1")


async def test_feed_positions_continue_after_a_reopen(tmp_path: Path) -> None:
    store = await SqliteStore.open(str(tmp_path / "s.db"))
    await store.create(*new_order(1))
    await store.close()
    store = await SqliteStore.open(str(tmp_path / "s.db"))
    try:
        assert (await store.create(*new_order(2))).gseq == 2
    finally:
        await store.close()


async def test_two_moves_of_one_order_in_one_batch_apply_in_turn(store: SqliteStore) -> None:
    order, event = new_order(1)
    await store.create(order, event)
    routing = order.advance(S.ROUTING, AT, {})
    building = routing[0].advance(S.BUILDING, AT, {}, attempts=1)
    await asyncio.gather(store.record(*routing, S.PENDING), store.record(*building, S.ROUTING))
    stored = await store.get(order.id)
    assert stored is not None and (stored.status, stored.seq) == (S.BUILDING, 3)


async def test_a_write_queued_behind_a_refused_one_of_its_order_is_refused_too(
        store: SqliteStore) -> None:
    order, event = new_order(1)
    await store.create(order, event)
    cancelled = order.advance(S.CANCELLED, AT, {})
    routing = order.advance(S.ROUTING, AT, {})  # a worker's two steps, queued back to back
    building = routing[0].advance(S.BUILDING, AT, {}, attempts=1)
    results = await asyncio.gather(
        store.record(*cancelled, S.PENDING), store.record(*routing, S.PENDING),
        store.record(*building, S.ROUTING), return_exceptions=True)
    assert isinstance(results[0], StatusChanged)
    assert isinstance(results[1], StaleOrder) and isinstance(results[2], StaleOrder)
    stored = await store.get(order.id)  # building had the right seq, but not the status
    assert stored is not None and (stored.status, stored.seq) == (S.CANCELLED, 2)

"""The OrderStore contract: every store implementation passes these, written against the port
only. A batch of writes is all-or-nothing per write, never per batch; a stale write is refused."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from stubs import change_to

from engine.api.wire import EVENTS
from engine.app import open_store
from engine.config import Settings
from engine.domain.access import ApiKey, Scope
from engine.domain.errors import InvalidCursor
from engine.domain.events import (
    Failed,
    Failure,
    OrderEvent,
    PriceUpdated,
    StoredEvent,
)
from engine.domain.order import Order
from engine.domain.order_types import TrailingStop
from engine.domain.parsing import parse_order
from engine.domain.status import OrderStatus as S
from engine.ports import IdempotencyKey, OrderStore, StaleOrder
from engine.store.postgres import PostgresStore

AT = datetime(2026, 11, 25, tzinfo=UTC)
BODY = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1}
Opener = Callable[[Path], Awaitable[OrderStore]]


async def open_sqlite(directory: Path) -> OrderStore:
    return await open_store(Settings(db=str(directory / "s.db")))


STORES = ("sqlite", "postgresql")


@pytest.fixture(params=STORES)
def opener(request: pytest.FixtureRequest) -> Opener:
    if request.param == "sqlite":
        return open_sqlite
    url: str = request.getfixturevalue("postgres_url")

    async def open_postgres(directory: Path) -> OrderStore:
        # One schema per test directory: a fresh store, and the same one when reopened.
        schema = "t_" + hashlib.sha256(str(directory).encode()).hexdigest()[:16]
        return await PostgresStore.open(url, EVENTS, schema=schema)
    return open_postgres


@pytest_asyncio.fixture
async def store(opener: Opener, tmp_path: Path) -> AsyncIterator[OrderStore]:
    opened = await opener(tmp_path)
    try:
        yield opened
    finally:
        await opened.close()


def new_order(n: int, body: dict[str, object] = BODY) -> tuple[Order, OrderEvent]:
    return Order.accept(f"order-{n}", parse_order(body, AT), AT)


async def test_writes_that_share_a_batch_get_consecutive_feed_positions(store: OrderStore) -> None:
    stored = await asyncio.gather(*(store.create(*new_order(n)) for n in range(50)))
    assert sorted(e.gseq for e in stored) == list(range(1, 51))
    feed = await store.feed(0, 100)
    assert [(e.order_id, e.gseq) for e in feed] == sorted(
        ((e.order_id, e.gseq) for e in stored), key=lambda pair: pair[1])


async def test_a_stale_write_is_refused_and_its_batch_mates_still_commit(
        store: OrderStore) -> None:
    orders = [new_order(n) for n in range(3)]
    await asyncio.gather(*(store.create(*pair) for pair in orders))
    moved = [order.apply(change_to(S.ROUTING), AT) for order, _ in orders]
    stale = orders[1][0].apply(change_to(S.CANCELLED), AT)  # raced the worker for the same seq
    results = await asyncio.gather(*(store.record(*pair, S.PENDING) for pair in moved),
                                   store.record(*stale, S.PENDING), return_exceptions=True)
    assert [type(r) for r in results[:3]] == [StoredEvent] * 3
    assert isinstance(results[3], StaleOrder)
    assert [e.gseq for e in results[:3] if isinstance(e, StoredEvent)] == [4, 5, 6]
    assert [e.status for e in await store.events("order-1")] == [S.PENDING, S.ROUTING]
    later = await store.create(*new_order(9))
    assert later.gseq == 7  # the refused write left no hole in the feed


async def test_a_duplicate_idempotency_key_fails_only_its_own_order(store: OrderStore) -> None:
    key = IdempotencyKey("k", "fingerprint", "")
    first, second, third = new_order(1), new_order(2), new_order(3)
    results = await asyncio.gather(store.create(*first, key), store.create(*second, key),
                                   store.create(*third), return_exceptions=True)
    assert isinstance(results[0], StoredEvent) and isinstance(results[2], StoredEvent)
    assert isinstance(results[1], Exception)
    assert await store.get("order-2") is None
    assert (await store.find_key("k")) == IdempotencyKey("k", "fingerprint", "order-1")


async def test_feed_positions_continue_after_a_reopen(opener: Opener, tmp_path: Path) -> None:
    store = await opener(tmp_path)
    await store.create(*new_order(1))
    await store.close()
    store = await opener(tmp_path)
    try:
        assert (await store.create(*new_order(2))).gseq == 2
    finally:
        await store.close()


async def test_two_moves_of_one_order_in_one_batch_apply_in_turn(store: OrderStore) -> None:
    order, event = new_order(1)
    await store.create(order, event)
    routing = order.apply(change_to(S.ROUTING), AT)
    building = routing[0].apply(change_to(S.BUILDING), AT)
    await asyncio.gather(store.record(*routing, S.PENDING), store.record(*building, S.ROUTING))
    stored = await store.get(order.id)
    assert stored is not None and (stored.status, stored.seq) == (S.BUILDING, 3)


async def test_a_write_queued_behind_a_refused_one_of_its_order_is_refused_too(
        store: OrderStore) -> None:
    order, event = new_order(1)
    await store.create(order, event)
    cancelled = order.apply(change_to(S.CANCELLED), AT)
    routing = order.apply(change_to(S.ROUTING), AT)  # a worker's two steps, queued back to back
    building = routing[0].apply(change_to(S.BUILDING), AT)
    results = await asyncio.gather(
        store.record(*cancelled, S.PENDING), store.record(*routing, S.PENDING),
        store.record(*building, S.ROUTING), return_exceptions=True)
    assert isinstance(results[0], StoredEvent)
    assert isinstance(results[1], StaleOrder) and isinstance(results[2], StaleOrder)
    stored = await store.get(order.id)  # building had the right seq, but not the status
    assert stored is not None and (stored.status, stored.seq) == (S.CANCELLED, 2)


async def test_an_order_reads_back_with_every_typed_value_it_learned(store: OrderStore) -> None:
    order, event = new_order(1)
    await store.create(order, event)
    for status in (S.ROUTING, S.BUILDING, S.SUBMITTED, S.CONFIRMED):
        previous = order.status
        order, event = order.apply(change_to(status), AT)
        await store.record(order, event, previous)
    assert await store.get(order.id) == order


async def test_a_failure_reads_back_as_the_same_failure(store: OrderStore) -> None:
    order, event = new_order(1)
    await store.create(order, event)
    failed, event = order.apply(Failed(Failure("NO_ROUTE", "no venue")), AT)
    await store.record(failed, event, S.PENDING)
    assert await store.get(order.id) == failed


async def test_events_come_back_in_seq_order_with_their_stored_bytes(store: OrderStore) -> None:
    order, event = new_order(1)
    first = await store.create(order, event)
    waiting, armed = order.apply(change_to(S.WAITING), AT)
    second = await store.record(waiting, armed, S.PENDING)
    updated, tick = waiting.apply(PriceUpdated(Decimal("150.5")), AT)
    third = await store.record(updated, tick, S.WAITING)
    assert await store.events(order.id) == [first, second, third]
    assert await store.events(order.id, after=2) == [third]
    assert b'"currentPrice":"150.5"' in third.body


async def test_pages_are_newest_first_and_continue_from_their_cursor(store: OrderStore) -> None:
    for n in range(7):
        await store.create(*new_order(n))
    first = await store.page(None, 3, None)
    second = await store.page(None, 3, first.next_cursor)
    last = await store.page(None, 3, second.next_cursor)
    ids = [o.id for page in (first, second, last) for o in page.orders]
    assert ids == [f"order-{n}" for n in range(6, -1, -1)]
    assert last.next_cursor is None


async def test_a_page_filters_by_status(store: OrderStore) -> None:
    for n in range(3):
        await store.create(*new_order(n))
    order = await store.get("order-1")
    assert order is not None
    cancelled, event = order.apply(change_to(S.CANCELLED), AT)
    await store.record(cancelled, event, S.PENDING)
    page = await store.page(S.CANCELLED, 10, None)
    assert [o.id for o in page.orders] == ["order-1"] and page.next_cursor is None


async def test_a_cursor_the_store_did_not_hand_out_is_refused(store: OrderStore) -> None:
    with pytest.raises(InvalidCursor):
        await store.page(None, 10, "not-a-cursor")


async def test_unfinished_lists_every_live_order_oldest_first(store: OrderStore) -> None:
    for n in range(3):
        await store.create(*new_order(n))
    order = await store.get("order-0")
    assert order is not None
    for status in (S.ROUTING, S.BUILDING, S.SUBMITTED, S.CONFIRMED):
        previous = order.status
        order, event = order.apply(change_to(status), AT)
        await store.record(order, event, previous)
    assert [o.id for o in await store.unfinished()] == ["order-1", "order-2"]


async def test_idempotency_keys_are_forgotten_after_their_time(store: OrderStore) -> None:
    await store.create(*new_order(1), IdempotencyKey("k", "f"))
    assert await store.forget_keys(AT - timedelta(seconds=1)) == 0
    assert await store.find_key("k") is not None
    assert await store.forget_keys(AT + timedelta(seconds=1)) == 1
    assert await store.find_key("k") is None


async def test_last_gseq_is_the_last_feed_position(store: OrderStore) -> None:
    assert await store.last_gseq() == 0
    await asyncio.gather(*(store.create(*new_order(n)) for n in range(4)))
    assert await store.last_gseq() == 4


async def test_a_write_refused_by_a_crash_leaves_nothing_of_itself(opener: Opener,
                                                                  tmp_path: Path) -> None:
    store = await opener(tmp_path)
    order, event = new_order(1)
    await store.create(order, event)
    confirmed, filled = order.apply(change_to(S.ROUTING), AT)
    pending = store.record(confirmed, filled, S.PENDING)
    await store.close()  # the process goes away with the write queued or committed
    outcome = await asyncio.gather(pending, return_exceptions=True)
    store = await opener(tmp_path)
    try:
        stored = await store.get(order.id)
        events = await store.events(order.id)
        assert stored is not None and stored.seq == len(events)
        if isinstance(outcome[0], StoredEvent):  # acknowledged: it must have survived
            assert stored.status is S.ROUTING
    finally:
        await store.close()



async def test_kept_marks_survive_and_an_older_order_object_does_not_overwrite_them(
        store: OrderStore) -> None:
    body = {"orderType": "trailing_stop", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1,
            "trail": "0.05"}
    order, event = new_order(1, body)
    await store.create(order, event)
    waiting, armed = order.apply(change_to(S.WAITING), AT)
    await store.record(waiting, armed, S.PENDING)
    await store.keep_marks([(order.id, Decimal("151.5"))])
    ticked, tick = waiting.apply(PriceUpdated(Decimal("150")), AT)  # its mark is None
    await store.record(ticked, tick, S.WAITING)
    stored = await store.get(order.id)
    assert stored is not None and stored.mark == Decimal("151.5")
    assert stored.request.order_type == TrailingStop(Decimal("0.05"))


@pytest.mark.parametrize("body", [
    {**BODY, "swapMode": "ExactOut", "amount": "150", "tokenOut": "USDC"},
    {**BODY, "orderType": "stop", "triggerPrice": "140", "swapMode": "ExactOut"},
    {**BODY, "orderType": "trailing_stop", "trail": "0.03", "ttlSeconds": 60},
    {**BODY, "orderType": "bracket", "takeProfitPrice": "160", "stopPrice": "140"},
])
async def test_every_kind_of_request_reads_back_as_written(store: OrderStore,
                                                           body: dict[str, object]) -> None:
    order, event = new_order(1, body)
    await store.create(order, event)
    assert await store.get(order.id) == order


async def test_an_engine_value_is_kept_and_replaced(store: OrderStore) -> None:
    assert await store.engine_value("genesis_hash") is None
    await store.set_engine_value("genesis_hash", "first")
    await store.set_engine_value("genesis_hash", "second")
    assert await store.engine_value("genesis_hash") == "second"


async def test_a_keys_scope_changes_only_while_it_is_active(store: OrderStore) -> None:
    await store.add_key(ApiKey("bot", "h1", Scope.ADMIN, AT))
    assert await store.set_key_scope("bot", Scope.READ)
    assert [key.scope for key in await store.api_keys()] == [Scope.READ]
    await store.revoke_key("bot", AT)
    assert not await store.set_key_scope("bot", Scope.ADMIN)

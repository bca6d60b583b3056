"""The worker pool on its own, with a fake execution: at most `size` orders run at once, a full
queue refuses before anything is stored, a poison order ends after three crashes, a storage
error is retried without limit (and said sparingly), and a stop lets what runs finish within
its grace."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from stubs import new_order

from engine.clock import SystemClock
from engine.domain.errors import Overloaded
from engine.domain.order import Order
from engine.orders.storage_outage import StorageOutage
from engine.orders.workers import MAX_CRASHES, WorkerPool
from engine.ports import StorageError


class FakeExecution:
    """Records each execution; `gate` holds them until the test lets them go."""

    def __init__(self, fails: list[Exception] | None = None) -> None:
        self.ran: list[str] = []
        self.running = 0
        self.most_at_once = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.fails = fails or []
        self.given_up: list[tuple[str, Exception]] = []

    async def execute(self, order: Order) -> Order:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        try:
            await self.gate.wait()
            self.ran.append(order.id)
            if self.fails:
                raise self.fails.pop(0)
            return order
        finally:
            self.running -= 1

    async def reload(self, order_id: str) -> Order | None:
        return new_order(order_id)

    async def give_up(self, order_id: str, error: Exception) -> None:
        self.given_up.append((order_id, error))


def workers(fake: FakeExecution, size: int, max_pending: int, *, crash_delay: float = 1.0,
            outage: StorageOutage | None = None) -> WorkerPool:
    """A pool running `fake`; storage retries at once unless `outage` says otherwise."""
    return WorkerPool(fake.execute, fake.reload, size, max_pending, give_up=fake.give_up,
                      outage=outage or StorageOutage(first_pause=0), clock=SystemClock(),
                      crash_delay=crash_delay)


async def until(condition: Callable[[], object], turns: int = 100_000) -> None:
    """Event-loop turns until `condition()` holds: a condition, not a time."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def test_at_most_size_orders_run_at_once() -> None:
    fake = FakeExecution()
    fake.gate.clear()
    pool = workers(fake, 3, 100, crash_delay=0)
    pool.start()
    for n in range(10):
        pool.enqueue(new_order(f"o-{n}"))
    await until(lambda: fake.running == 3)
    assert pool.in_flight == 3 and pool.queued == 7
    fake.gate.set()
    await until(lambda: len(fake.ran) == 10)
    assert fake.most_at_once == 3
    await pool.stop(0)


async def test_a_full_queue_refuses_before_anything_is_stored() -> None:
    fake = FakeExecution()
    pool = workers(fake, 1, 2)
    pool.reserve()
    pool.reserve()
    with pytest.raises(Overloaded):
        pool.reserve()
    pool.release()
    pool.reserve()  # a released slot is free again


async def test_a_poison_order_ends_after_three_crashes_and_the_workers_live_on() -> None:
    fake = FakeExecution(fails=[RuntimeError("boom")] * MAX_CRASHES)
    pool = workers(fake, 1, 10, crash_delay=0)
    pool.start()
    pool.enqueue(new_order("poison"))
    await until(lambda: fake.given_up)
    assert fake.ran == ["poison"] * MAX_CRASHES and fake.given_up[0][0] == "poison"
    pool.enqueue(new_order("next"))
    await until(lambda: "next" in fake.ran)
    await pool.stop(0)


async def test_a_storage_error_is_retried_beyond_the_crash_limit() -> None:
    fake = FakeExecution(fails=[StorageError("disk")] * (MAX_CRASHES + 2))
    pool = workers(fake, 1, 10, crash_delay=0)
    pool.start()
    pool.enqueue(new_order("o-1"))
    await until(lambda: len(fake.ran) == MAX_CRASHES + 3)
    assert fake.given_up == []  # the disk, not the order: never given up
    await pool.stop(0)


async def test_stop_lets_running_orders_finish_within_the_grace() -> None:
    fake = FakeExecution()
    fake.gate.clear()
    pool = workers(fake, 2, 10)
    pool.start()
    pool.enqueue(new_order("running"))
    await until(lambda: fake.running == 1)
    stopping = asyncio.create_task(pool.stop(5))
    await asyncio.sleep(0)
    fake.gate.set()  # it finishes inside the grace
    await stopping
    assert fake.ran == ["running"]


async def test_storage_failures_are_said_when_their_count_doubles_and_their_end_once(
        logged: list[str]) -> None:
    fake = FakeExecution(fails=[StorageError("database or disk is full")] * 9)
    outage = StorageOutage(first_pause=0)
    pool = workers(fake, 1, 10, outage=outage)
    pool.start()
    try:
        pool.enqueue(new_order("o-1"))
        await until(lambda: outage.awaiting == 1)
        assert outage.problems() == ["storage failing (database or disk is full): 1 order "
                                     "waits to be stored, tried again at least every 2 s"]
        await until(lambda: len(fake.ran) == 10 and outage.awaiting == 0)
    finally:
        await pool.stop(0)
    failures = [m for m in logged if m.startswith("storage error")]
    assert [m.split("(")[2].split(" ")[0] for m in failures] == ["1", "2", "4", "8"]
    assert logged[-1] == "stored again, after 9 failed tries"
    assert outage.problems() == []


async def test_an_order_the_store_cannot_read_back_is_tried_again_not_left() -> None:
    fake = FakeExecution(fails=[StorageError("connection refused")])
    unread = [StorageError("connection refused")] * 3
    reload = fake.reload

    async def flaky_reload(order_id: str) -> Order | None:
        if unread:
            raise unread.pop()
        return await reload(order_id)

    fake.reload = flaky_reload  # type: ignore[method-assign]
    pool = workers(fake, 1, 10)
    pool.start()
    pool.enqueue(new_order("o-1"))
    await until(lambda: fake.ran == ["o-1", "o-1"])  # read back on the fourth try, and run
    assert not unread and fake.given_up == []
    await pool.stop(0)


def test_storage_retries_pause_longer_each_time_up_to_a_ceiling() -> None:
    outage = StorageOutage(first_pause=0.05, longest_pause=2.0)
    pauses = [outage.failed("o-1", StorageError("full")).pause for _ in range(8)]
    assert pauses == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert outage.failed("o-2", StorageError("full")).pause == 0.05  # each order its own
    assert outage.stored("o-1") == 8 and outage.stored("o-1") == 0
    assert [outage.refused(StorageError("full")).say for _ in range(5)] == [
        True, True, False, True, False]
    assert "the last 5 new orders were refused" in outage.problems()[-1]  # for /healthz
    assert outage.accepted() == 5 and outage.accepted() == 0
    assert not any("refused" in problem for problem in outage.problems())

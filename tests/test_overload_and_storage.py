"""A full queue and a failing disk are refused cleanly: 503, and nothing half-stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import all_in, run_until

from engine.testing import EngineHarness, ManualClock

ORDER = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1}


async def test_a_full_queue_answers_503_with_retry_after_and_stores_nothing(
        tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", latency_scale=1.0, clock=ManualClock(),
                                   workers=1, max_pending=3) as engine:
        answers = [await engine.post_order(ORDER) for _ in range(8)]
        accepted = [body["orderId"] for status, body in answers if status == 201]
        refused = [body for status, body in answers if status == 503]
        assert len(accepted) == 4  # one executing, three waiting
        assert refused and all(b["error"]["code"] == "OVERLOADED" for b in refused)
        assert engine.http is not None
        async with engine.http.post("/api/orders/execute", json=ORDER) as resp:
            assert resp.status == 503 and resp.headers["Retry-After"] == "1"
        async with engine.http.get("/api/orders") as resp:
            assert {o["orderId"] for o in (await resp.json())["orders"]} == set(accepted)
        await run_until(engine, all_in(engine, accepted, {"confirmed", "failed"}))


WRITES = ("BEGIN", "COMMIT", "INSERT", "UPDATE")


def faulty_connection(n: int, always: bool) -> type[sqlite3.Connection]:
    """A write connection whose n-th write statement fails with a disk error, once or from
    then on (what a full or failing disk does to SQLite)."""
    calls = 0

    def check(sql: str) -> None:
        nonlocal calls
        # The sweep is over an order's writes: what the engine keeps about itself at start-up
        # (engine_state) comes before any order and is not counted.
        if sql.lstrip().split(" ", 1)[0].upper() not in WRITES or "engine_state" in sql:
            return
        calls += 1
        if calls == n or (always and calls > n):
            raise sqlite3.OperationalError("disk I/O error")

    class FaultyConnection(sqlite3.Connection):
        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            check(sql)
            return super().execute(sql, parameters)

        def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
            check(sql)
            return super().executemany(sql, parameters)

    return FaultyConnection


def check_database(path: Path) -> None:
    """Integrity, and no order without the events its seq says it has."""
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    rows = db.execute("SELECT o.id, o.seq, COUNT(e.seq), MAX(e.seq) FROM orders o "
                      "LEFT JOIN events e ON e.order_id = o.id GROUP BY o.id").fetchall()
    for order_id, seq, count, last in rows:
        assert seq == count == last, order_id
    db.close()


@pytest.mark.parametrize("always", [False, True], ids=["once", "always"])
@pytest.mark.parametrize("n", range(1, 13))
async def test_a_disk_error_at_any_write_leaves_no_half_written_order(
        tmp_path: Path, n: int, always: bool) -> None:
    connection = faulty_connection(n, always)
    async with EngineHarness.start(tmp_path / "e.db", connection=connection) as engine:
        status, body = await engine.post_order(ORDER)
        assert status in (201, 503)
        if status == 503:
            assert body["error"]["code"] == "STORAGE_UNAVAILABLE"
        elif not always:  # a one-off error mid-execution: the order is picked up again
            final = await engine.wait_terminal(body["orderId"], limit=10)
            assert final["status"] in ("confirmed", "failed")
    check_database(tmp_path / "e.db")


class SwitchableDisk(sqlite3.Connection):
    """A write connection whose writes fail while `failing` is set (a disk that comes back)."""

    failing = False

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        if SwitchableDisk.failing and sql.lstrip().split(" ", 1)[0].upper() in WRITES:
            raise sqlite3.OperationalError("disk I/O error")
        return super().execute(sql, parameters)


async def test_a_cancel_the_disk_refuses_answers_503_and_leaves_the_order_watched(
        tmp_path: Path) -> None:
    limit = {**ORDER, "orderType": "limit", "limitPrice": 10_000}
    async with EngineHarness.start(tmp_path / "e.db", connection=SwitchableDisk) as engine:
        order_id = await engine.submit(**limit)
        assert engine.http is not None

        async def waiting() -> int:
            assert engine.http is not None
            async with engine.http.get("/healthz") as resp:
                return int((await resp.json())["waiting"])

        while await waiting() != 1:  # armed by the watcher right after its 201
            await engine.clock.sleep(0.01)
        SwitchableDisk.failing = True
        try:
            async with engine.http.delete(f"/api/orders/{order_id}") as resp:
                assert resp.status == 503
                assert (await resp.json())["error"]["code"] == "STORAGE_UNAVAILABLE"
        finally:
            SwitchableDisk.failing = False
        assert await waiting() == 1
        assert (await engine.order(order_id))["status"] == "waiting"
        async with engine.http.delete(f"/api/orders/{order_id}") as resp:
            assert resp.status == 200
        assert await waiting() == 0

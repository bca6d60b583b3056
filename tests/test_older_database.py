"""A database written before order types kept their own records (schema 11: a column per
field of every type) is migrated at start, and its unfinished orders resume: every waiting
order keeps its terms, its mark and its history, and fires when its price comes."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import orjson

from engine.testing import EngineHarness, ManualClock

DUMP = Path(__file__).parent / "fixtures" / "orders-schema-11.sql"
LIMIT, STOP, TRAILING = "6f13e825-484c-47e0-b382-f7920941538e", \
    "da83d378-0c2f-4dd8-a8f1-48ddece5e3a7", "beaf7964-e973-4cff-b3a5-311ef0353c36"
BRACKET, SNIPER, ANY_PRICE_SNIPER = "5cce4227-2f11-4dce-972f-44d59b538665", \
    "e4acab9c-eed8-40a2-950b-90642227a2fe", "e190f162-762e-4973-9510-29a0a5f13890"
TWAP, LIMITED_TWAP = "e903ede9-7dd0-4713-8589-7f0ea89bd776", \
    "ff9dd62e-3e8a-4808-9700-0f0d292f08f2"
TERMS = {  # what the API said of each when it was placed
    LIMIT: {"orderType": "limit", "limitPrice": "900", "expiresAt": "2026-12-06T11:54:16.938Z"},
    STOP: {"orderType": "stop", "triggerPrice": "10", "expiresAt": None},
    TRAILING: {"orderType": "trailing_stop", "trail": "0.3", "highWaterMark": "149.924",
               "triggerPrice": "104.9468"},
    BRACKET: {"orderType": "bracket", "takeProfitPrice": "900", "stopPrice": "10"},
    SNIPER: {"orderType": "sniper", "maxPrice": "0.01"},
    ANY_PRICE_SNIPER: {"orderType": "sniper", "maxPrice": None},
    TWAP: {"orderType": "twap", "slices": 4, "intervalSeconds": 3600, "limitPrice": None,
           "priorityFee": "high", "slicesSent": 1},
    LIMITED_TWAP: {"orderType": "twap", "slices": 3, "intervalSeconds": 7200,
                   "limitPrice": "1", "slicesSent": 1},
}


def written_then() -> ManualClock:
    """The time the database was written: its TWAPs' next slices are an hour away still."""
    return ManualClock(datetime(2026, 12, 5, 11, 55, tzinfo=UTC))


def older_database(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.executescript(DUMP.read_text())
    db.close()
    return path


async def test_every_waiting_order_keeps_its_terms_mark_and_history(tmp_path: Path) -> None:
    events_before = dict(sqlite3.connect(older_database(tmp_path / "old.db")).execute(
        "SELECT order_id, count(*) FROM events GROUP BY order_id").fetchall())
    async with EngineHarness.start(tmp_path / "old.db", allow_other_cluster=True,
                                   clock=written_then()) as engine:
        engine.world.hold_prices()
        for order_id, terms in TERMS.items():
            order = await engine.order(order_id)
            assert order["status"] == "waiting", order_id
            assert {name: order[name] for name in terms} == terms
            assert [e["seq"] for e in order["events"]][:events_before[order_id]] == list(
                range(1, events_before[order_id] + 1))


async def test_its_unfinished_orders_resume_and_fire_when_their_price_comes(
        tmp_path: Path) -> None:
    async with EngineHarness.start(older_database(tmp_path / "old.db"),
                                   allow_other_cluster=True,
                                   clock=written_then()) as engine:
        engine.world.hold_prices()
        for pool in ("met-sol-usdc", "ray-sol-usdc"):  # SOL falls to about 7.5 USDC
            engine.world.move_price(pool, 0.05)
        for fired in (STOP, TRAILING, BRACKET):
            final = await engine.wait_terminal(fired)
            assert final["status"] == "confirmed", final
        assert (await engine.order(LIMIT))["status"] == "waiting"  # 900 is far off
        engine.world.launch(mint="7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr")
        assert (await engine.wait_terminal(ANY_PRICE_SNIPER))["status"] == "confirmed"
        assert (await engine.http.delete(f"/api/orders/{LIMIT}")).status == 200  # type: ignore[union-attr]
        assert (await engine.order(LIMIT))["status"] == "cancelled"


async def test_finished_orders_read_back_as_they_were_stored(tmp_path: Path) -> None:
    """Routes and fills stored in the API's shapes of the time read back exactly."""
    db = sqlite3.connect(older_database(tmp_path / "old.db"))
    stored = db.execute("SELECT id, fill, route FROM orders WHERE status='confirmed'").fetchall()
    db.close()
    assert len(stored) == 4  # a market, an exact-out limit and two TWAP slices
    async with EngineHarness.start(tmp_path / "old.db", allow_other_cluster=True,
                                   clock=written_then()) as engine:
        for order_id, fill, route in stored:
            order = await engine.order(order_id)
            assert order["fill"] == orjson.loads(fill)
            assert order["route"] == orjson.loads(route)

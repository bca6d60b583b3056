"""The order store's schema is one history for both stores (`engine/store/schema.py`): a new
SQLite file and a new PostgreSQL database get the same tables, columns and indexes as one
written before the history was one, once that one is migrated; the older PostgreSQL
database (its own three migrations) keeps its orders: the waiting one resumes and can be
cancelled, the confirmed one reads back; and a database a newer engine moved past this
history is refused, untouched."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from engine.api.wire import EVENTS
from engine.ports import StorageError
from engine.store.postgres import PostgresStore
from engine.store.schema import STEPS
from engine.store.sqlite import SqliteStore
from engine.testing import EngineHarness
from engine.testing.postgres import fresh_database

FIXTURES = Path(__file__).parent / "fixtures"
WAITING, CONFIRMED = "203296d9-0ea3-4ca0-81f1-e6f70ddd8ae7", \
    "31a29bb7-80fb-4c7e-8cb4-b76d0bcebc3d"


# -- SQLite ----------------------------------------------------------------------------------
def sqlite_shape(path: Path) -> dict[str, Any]:
    db = sqlite3.connect(path)
    tables = [name for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    shape: dict[str, Any] = {
        table: sorted(db.execute(f"PRAGMA table_info({table})").fetchall()) for table in tables}
    shape["indexes"] = sorted(db.execute(
        "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
    shape["version"] = db.execute("PRAGMA user_version").fetchone()[0]
    db.close()
    return shape


async def test_a_new_sqlite_store_and_an_older_one_migrated_have_one_shape(
        tmp_path: Path) -> None:
    older = tmp_path / "older.db"
    db = sqlite3.connect(older)
    db.executescript((FIXTURES / "orders-schema-11.sql").read_text())
    db.close()
    for path in (older, tmp_path / "new.db"):
        await (await SqliteStore.open(str(path), EVENTS)).close()
    assert sqlite_shape(older) == sqlite_shape(tmp_path / "new.db")
    assert sqlite_shape(older)["version"] == len(STEPS)


# -- PostgreSQL --------------------------------------------------------------------------------
async def postgres_shape(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        columns = await conn.fetch(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = 'public' "
            "ORDER BY table_name, column_name")
        indexes = await conn.fetch("SELECT tablename, indexname, indexdef FROM pg_indexes "
                                   "WHERE schemaname = 'public' ORDER BY indexname")
        version = await conn.fetchval("SELECT max(version) FROM schema_history")
    finally:
        await conn.close()
    return {"columns": [tuple(row) for row in columns],
            "indexes": [tuple(row) for row in indexes], "version": version}


async def an_older_postgres_database(postgres_url: str, tmp_path: Path) -> str:
    url = await fresh_database(postgres_url, f"{tmp_path}older")
    conn = await asyncpg.connect(url)
    await conn.execute((FIXTURES / "postgres-schema-3.sql").read_text())
    await conn.close()
    return url


async def test_a_new_postgres_store_and_an_older_one_migrated_have_one_shape(
        postgres_url: str, tmp_path: Path) -> None:
    older = await an_older_postgres_database(postgres_url, tmp_path)
    new = await fresh_database(postgres_url, f"{tmp_path}new")
    for url in (older, new):
        await (await PostgresStore.open(url, EVENTS)).close()
    assert await postgres_shape(older) == await postgres_shape(new)
    assert (await postgres_shape(new))["version"] == len(STEPS)


async def test_an_older_postgres_databases_orders_resume(postgres_url: str,
                                                         tmp_path: Path) -> None:
    url = await an_older_postgres_database(postgres_url, tmp_path)
    async with EngineHarness.start(url, allow_other_cluster=True) as engine:
        confirmed = await engine.order(CONFIRMED)
        assert confirmed["status"] == "confirmed" and confirmed["txHash"]
        waiting = await engine.order(WAITING)
        assert (waiting["status"], waiting["limitPrice"]) == ("waiting", "400")
        assert engine.engine.operations.health().waiting == 1  # watched again
        assert engine.http is not None
        async with engine.http.delete(f"/api/orders/{WAITING}") as resp:
            assert resp.status == 200
        final = await engine.wait_terminal(WAITING)
    assert final["status"] == "cancelled"


# -- a database a newer engine wrote ------------------------------------------------------------
async def test_a_sqlite_file_a_newer_engine_wrote_is_refused_and_left_as_it_was(
        tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    await (await SqliteStore.open(str(path), EVENTS)).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={len(STEPS) + 1}")
    db.close()
    with pytest.raises(StorageError, match="a newer engine wrote it"):
        await SqliteStore.open(str(path), EVENTS)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(STEPS) + 1  # untouched
    db.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("sqlite-writer")]


async def test_a_postgres_database_a_newer_engine_wrote_is_refused(postgres_url: str,
                                                                   tmp_path: Path) -> None:
    url = await fresh_database(postgres_url, f"{tmp_path}newer")
    await (await PostgresStore.open(url, EVENTS)).close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("INSERT INTO schema_history VALUES ($1)", len(STEPS) + 1)
    finally:
        await conn.close()
    with pytest.raises(StorageError, match="a newer engine wrote it"):
        await PostgresStore.open(url, EVENTS)


async def test_a_file_that_is_no_database_is_refused_leaving_no_thread(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    path.write_text("not a database")
    with pytest.raises(StorageError, match="file is not a database"):
        await SqliteStore.open(str(path), EVENTS)
    assert not [t for t in threading.enumerate() if t.name.startswith("sqlite-writer")]

"""OrderStore on SQLite: WAL, full fsync, versioned schema, group commit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiosqlite

from engine.domain.access import ApiKey, Scope
from engine.domain.events import (
    OrderEvent,
    StoredEvent,
)
from engine.domain.order import Order
from engine.domain.risk import TradingState
from engine.domain.status import TERMINAL, OrderStatus
from engine.ports import EventCodec, IdempotencyKey, KeyNameTaken, Page, StorageError
from engine.store import queries as q
from engine.store.records import iso, parse_time
from engine.store.rows import COLUMNS, order_of, row
from engine.store.schema import NewerSchema, known, migrations
from engine.store.writer import GroupCommitWriter

MIGRATIONS = migrations("sqlite")  # the schema's history, in this dialect

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",  # an acknowledged order survives power loss, not just a crash
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
)
_LIVE = tuple(s.value for s in OrderStatus if s not in TERMINAL)


class SqliteStore:
    """Writes go through a group-commit writer thread; reads through aiosqlite on a second
    connection, which with WAL never waits for a write and sees only what is committed."""

    def __init__(self, writer: GroupCommitWriter, reader: aiosqlite.Connection,
                 codec: EventCodec) -> None:
        self._writer, self._reader, self._codec = writer, reader, codec

    @classmethod
    async def open(cls, path: str, codec: EventCodec, *,
                   connection: type[sqlite3.Connection] = sqlite3.Connection) -> SqliteStore:
        """`codec` renders events as they are stored; `connection` is the class of the write
        connection (sqlite3's `factory`)."""
        private_file(path)
        writer = GroupCommitWriter(lambda: _connect_sync(path, connection), codec)
        try:
            await writer.open()
            await writer.call(_migrate)
            reader = await _connect(path)
        except (sqlite3.Error, NewerSchema) as error:
            with contextlib.suppress(sqlite3.Error):
                await writer.close()  # its thread too: nothing is left running
            raise StorageError(f"cannot open {path}: {error}") from error
        return cls(writer, reader, codec)

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    async def create(self, order: Order, event: OrderEvent,
                     key: IdempotencyKey | None = None) -> StoredEvent:
        insert = (q.INSERT_ORDER, row(order))
        extra = [] if key is None else [
            (q.INSERT_KEY, (key.key, key.fingerprint, order.id, iso(order.created_at)))]
        return await self._writer.write(insert, order, event, extra)

    def record(self, order: Order, event: OrderEvent,
               previous: OrderStatus) -> asyncio.Future[StoredEvent]:
        statement = (q.RECORD, q.record_params(order, event, previous))
        return self._writer.enqueue(statement, order, event)

    async def find_key(self, key: str) -> IdempotencyKey | None:
        rows = await self._read(q.FIND_KEY, (key,))
        return IdempotencyKey(*rows[0]) if rows else None

    async def forget_keys(self, before: datetime) -> int:
        """Drop idempotency keys created before `before`; returns how many."""
        def forget(db: sqlite3.Connection) -> int:
            with db:
                return db.execute(q.FORGET_KEYS, (iso(before),)).rowcount
        try:
            return await self._writer.call(forget)
        except sqlite3.Error as error:
            raise StorageError(str(error)) from error

    async def last_gseq(self) -> int:
        rows = await self._read("SELECT MAX(gseq) FROM feed", ())
        return int(rows[0][0] or 0)

    async def feed(self, after: int, limit: int) -> list[StoredEvent]:
        return [self._codec.stored(*row) for row in await self._read(q.FEED, (after, limit))]

    async def get(self, order_id: str) -> Order | None:
        rows = await self._read(q.GET, (order_id,))
        return order_of(rows[0]) if rows else None

    async def events(self, order_id: str, after: int = 0) -> list[StoredEvent]:
        return [self._codec.stored(*row)
                for row in await self._read(q.EVENTS, (order_id, after))]

    async def page(self, status: OrderStatus | None, limit: int, cursor: str | None,
                   owner: str | None = None) -> Page:
        sql, params = q.page_query(status, limit, cursor, owner)
        return q.page_of(await self._read(sql, tuple(params)), limit)

    async def unfinished(self) -> list[Order]:
        # IN over the live statuses, not NOT IN the terminal ones: it stays on the status index.
        sql = (f"SELECT {COLUMNS} FROM orders WHERE status IN "
               f"({', '.join('?' * len(_LIVE))}) ORDER BY pk")
        return [order_of(r) for r in await self._read(sql, _LIVE)]

    @property
    def shared(self) -> bool:
        return False  # one file, one engine: nothing to lease

    async def claim_unfinished(self) -> list[Order]:
        return await self.unfinished()

    async def renew_leases(self) -> int:
        return 0

    async def watch_feed(self, notify: Callable[[int], None]) -> None:
        return None  # every event is committed by this process

    async def api_keys(self) -> list[ApiKey]:
        rows = await self._read(q.API_KEYS, ())
        return [ApiKey(name, digest, Scope(scope), parse_time(created),
                       parse_time(revoked) if revoked else None)
                for name, digest, scope, created, revoked in rows]

    async def add_key(self, key: ApiKey) -> None:
        def add(db: sqlite3.Connection) -> None:
            with db:
                db.execute(q.ADD_KEY, (key.name, key.hash, key.scope.value,
                                       iso(key.created_at)))
        try:
            await self._writer.call(add)
        except sqlite3.IntegrityError as error:
            raise KeyNameTaken(f"a key named {key.name!r} exists already") from error
        except sqlite3.Error as error:
            raise StorageError(str(error)) from error

    async def revoke_key(self, name: str, at: datetime) -> bool:
        def revoke(db: sqlite3.Connection) -> bool:
            with db:
                return db.execute(q.REVOKE_KEY, (iso(at), name)).rowcount == 1
        try:
            return await self._writer.call(revoke)
        except sqlite3.Error as error:
            raise StorageError(str(error)) from error

    async def set_key_scope(self, name: str, scope: Scope) -> bool:
        def change(db: sqlite3.Connection) -> bool:
            with db:
                return db.execute(q.SET_SCOPE, (scope.value, name)).rowcount == 1
        try:
            return await self._writer.call(change)
        except sqlite3.Error as error:
            raise StorageError(str(error)) from error

    async def keep_marks(self, marks: Sequence[tuple[str, Decimal]]) -> None:
        def keep(db: sqlite3.Connection) -> None:  # one transaction, one fsync, for them all
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(q.KEEP_MARK,
                               [(str(mark), order_id) for order_id, mark in marks])
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        try:
            await self._writer.call(keep)
        except sqlite3.Error as error:
            raise StorageError(str(error)) from error

    async def trading_state(self) -> TradingState:
        value = await self.engine_value("trading")
        return TradingState(value) if value else TradingState.ACTIVE

    async def set_trading_state(self, state: TradingState) -> None:
        await self.set_engine_value("trading", state.value)

    async def engine_value(self, key: str) -> str | None:
        rows = await self._read(q.ENGINE_VALUE, (key,))
        return str(rows[0][0]) if rows else None

    async def set_engine_value(self, key: str, value: str) -> None:
        def put(db: sqlite3.Connection) -> None:
            with db:
                db.execute(q.SET_ENGINE_VALUE, (key, value))
        try:
            await self._writer.call(put)
        except sqlite3.Error as error:
            raise StorageError(str(error)) from error

    async def _read(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        # Fetch everything in one call: a statement left open across an await would pin the
        # reader's WAL snapshot, and other coroutines' reads would miss recent commits.
        try:
            return list(await self._reader.execute_fetchall(sql, params))
        except sqlite3.Error as error:
            raise StorageError(str(error)) from error


def private_file(path: str) -> None:
    """Create the database owner-only (0600) before SQLite opens it: SQLite gives its WAL and
    shared-memory files the database's own permissions. An existing file is narrowed too."""
    if path == ":memory:":
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


async def _connect(path: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        await conn.execute(pragma)
    return conn


def _connect_sync(path: str, factory: type[sqlite3.Connection]) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, factory=factory)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


def _migrate(db: sqlite3.Connection) -> None:
    version = known(int(db.execute("PRAGMA user_version").fetchone()[0]))
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        db.executescript(f"BEGIN IMMEDIATE; {script}; PRAGMA user_version={number}; COMMIT;")

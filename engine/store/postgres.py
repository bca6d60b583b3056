"""OrderStore on PostgreSQL (asyncpg), for several engines sharing one order book.

Writes are group-committed as with SQLite: one task takes the writes queued meanwhile and
applies them in one transaction, each in its own savepoint (a stale write is refused alone).
Feed positions (gseq) are assigned under the row lock of a counter, so they stay gap-free and
in commit order whichever process commits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from engine.domain.access import ApiKey, Scope
from engine.domain.events import OrderEvent, StoredEvent
from engine.domain.order import Order
from engine.domain.risk import TradingState
from engine.domain.status import TERMINAL, OrderStatus
from engine.ports import (
    EventCodec,
    IdempotencyKey,
    KeyNameTaken,
    Page,
    StorageError,
)
from engine.store import queries as q
from engine.store.postgres_writer import ERRORS, Connection, PostgresWriter
from engine.store.records import iso, parse_time
from engine.store.rows import COLUMNS, order_of, row
from engine.store.schema import POSTGRES_BEFORE, NewerSchema, known, migrations
from engine.store.writer import Statement

MIGRATIONS = migrations("postgres")  # the schema's history, in this dialect


class SQL:
    """The shared queries (`queries`), numbered once for PostgreSQL."""

    ADD_KEY = q.numbered(q.ADD_KEY)
    ENGINE_VALUE = q.numbered(q.ENGINE_VALUE)
    EVENTS = q.numbered(q.EVENTS)
    FEED = q.numbered(q.FEED)
    FIND_KEY = q.numbered(q.FIND_KEY)
    FORGET_KEYS = q.numbered(q.FORGET_KEYS)
    GET = q.numbered(q.GET)
    INSERT_KEY = q.numbered(q.INSERT_KEY)
    INSERT_ORDER = q.numbered(q.INSERT_ORDER)
    KEEP_MARK = q.numbered(q.KEEP_MARK)
    RECORD = q.numbered(q.RECORD)
    REVOKE_KEY = q.numbered(q.REVOKE_KEY)
    SET_ENGINE_VALUE = q.numbered(q.SET_ENGINE_VALUE)
    SET_SCOPE = q.numbered(q.SET_SCOPE)


LIVE = [s.value for s in OrderStatus if s not in TERMINAL]


class PostgresStore:
    def __init__(self, pool: asyncpg.Pool, codec: EventCodec, lease_seconds: float) -> None:
        self._pool, self._lease, self._codec = pool, lease_seconds, codec
        self.process = str(uuid4())  # this engine process, as its leases name it
        self._listener: PoolConnectionProxy | None = None
        self._on_notify: Any = None
        self._writer = PostgresWriter(pool, codec)

    @classmethod
    async def open(cls, url: str, codec: EventCodec, *, schema: str | None = None,
                   lease_seconds: float = 10.0) -> PostgresStore:
        """The store at `url` (postgresql://user:pass@host:port/db), migrated; `schema`, if
        given, is where its tables live (created if missing). An order this process holds is
        leased for `lease_seconds` at a time; `codec` renders events as they are stored."""
        settings = {"search_path": schema} if schema else {}
        try:
            if schema:
                first = await asyncpg.connect(url)
                try:
                    await first.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                finally:
                    await first.close()
            pool = await asyncpg.create_pool(url, min_size=1, max_size=8,
                                             server_settings=settings)
        except ERRORS as error:
            raise StorageError(f"cannot open the PostgreSQL store: {error}") from error
        try:
            async with pool.acquire() as conn:
                await _migrate(conn)
        except (*ERRORS, NewerSchema) as error:
            await pool.close()  # its connections too: nothing is left open
            raise StorageError(f"cannot open the PostgreSQL store: {error}") from error
        return cls(pool, codec, lease_seconds)

    async def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(*ERRORS):
                await self._listener.remove_listener("engine_feed", self._on_notify)
                await self._pool.release(self._listener)
        await self._writer.close()
        await self._pool.close()

    # -- writes ------------------------------------------------------------------------------
    async def create(self, order: Order, event: OrderEvent,
                     key: IdempotencyKey | None = None) -> StoredEvent:
        extra: list[Statement] = [] if key is None else [(
            SQL.INSERT_KEY,
            (key.key, key.fingerprint, order.id, iso(order.created_at)))]
        claim: Statement = ("UPDATE orders SET claimed_by=$1, lease_until=now() + "
                            "make_interval(secs => $2) WHERE id=$3",
                            (self.process, self._lease, order.id))
        return await self._writer.enqueue((SQL.INSERT_ORDER, row(order)), order, event, [claim, *extra])

    def record(self, order: Order, event: OrderEvent,
               previous: OrderStatus) -> asyncio.Future[StoredEvent]:
        statement = (SQL.RECORD, q.record_params(order, event, previous))
        return self._writer.enqueue(statement, order, event)

    async def _write(self, sql: str, *params: Any) -> str:
        try:
            async with self._pool.acquire() as conn:
                return str(await conn.execute(sql, *params))
        except ERRORS as error:
            raise StorageError(f"{type(error).__name__}: {error}") from error

    # -- reads ---------------------------------------------------------------------------------
    async def _read(self, sql: str, *params: Any) -> list[Any]:
        try:
            async with self._pool.acquire() as conn:
                return [tuple(r) for r in await conn.fetch(sql, *params)]
        except ERRORS as error:
            raise StorageError(f"{type(error).__name__}: {error}") from error

    async def get(self, order_id: str) -> Order | None:
        rows = await self._read(SQL.GET, order_id)
        return order_of(rows[0]) if rows else None

    async def events(self, order_id: str, after: int = 0) -> list[StoredEvent]:
        rows = await self._read(SQL.EVENTS, order_id, after)
        return [self._codec.stored(bytes(body), owner) for body, owner in rows]

    async def feed(self, after: int, limit: int) -> list[StoredEvent]:
        rows = await self._read(SQL.FEED, after, limit)
        return [self._codec.stored(bytes(body), owner) for body, owner in rows]

    async def last_gseq(self) -> int:
        rows = await self._read("SELECT value FROM counters WHERE name='feed'")
        return int(rows[0][0])

    async def page(self, status: OrderStatus | None, limit: int, cursor: str | None,
                   owner: str | None = None) -> Page:
        sql, params = q.page_query(status, limit, cursor, owner)
        return q.page_of(await self._read(q.numbered(sql), *params), limit)

    async def unfinished(self) -> list[Order]:
        rows = await self._read(f"SELECT {COLUMNS} FROM orders WHERE status = ANY($1) "
                                "ORDER BY pk", LIVE)
        return [order_of(r) for r in rows]

    @property
    def shared(self) -> bool:
        return True

    async def claim_unfinished(self) -> list[Order]:
        """Live orders whose lease has expired, or that no process holds, now this one's:
        rows locked with SKIP LOCKED, so two processes never claim the same order."""
        try:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch(
                    f"UPDATE orders SET claimed_by=$1, lease_until=now() + "
                    f"make_interval(secs => $2) WHERE id IN (SELECT id FROM orders WHERE "
                    f"status = ANY($3) AND (lease_until IS NULL OR lease_until < now()) "
                    f"ORDER BY pk FOR UPDATE SKIP LOCKED) RETURNING pk, {COLUMNS}",
                    self.process, self._lease, LIVE)
        except ERRORS as error:
            raise StorageError(f"{type(error).__name__}: {error}") from error
        return [order_of(tuple(r)[1:]) for r in sorted(rows, key=lambda r: r[0])]

    async def renew_leases(self) -> int:
        status = await self._write("UPDATE orders SET lease_until=now() + make_interval(secs "
                                   "=> $1) WHERE claimed_by=$2 AND status = ANY($3)",
                                   self._lease, self.process, LIVE)
        return int(status.split()[-1])

    async def watch_feed(self, notify: Callable[[int], None]) -> None:
        """LISTEN on one connection of the pool, kept for it."""
        def on_notify(_conn: object, _pid: int, _channel: str, payload: object) -> None:
            notify(int(str(payload)))

        self._on_notify = on_notify
        try:
            self._listener = await self._pool.acquire()
            await self._listener.add_listener("engine_feed", on_notify)
        except ERRORS as error:
            raise StorageError(f"{type(error).__name__}: {error}") from error

    async def find_key(self, key: str) -> IdempotencyKey | None:
        rows = await self._read(SQL.FIND_KEY, key)
        return IdempotencyKey(*rows[0]) if rows else None

    async def forget_keys(self, before: datetime) -> int:
        status = await self._write(SQL.FORGET_KEYS, iso(before))
        return int(status.split()[-1])

    async def api_keys(self) -> list[ApiKey]:
        rows = await self._read(q.API_KEYS)
        return [ApiKey(name, digest, Scope(scope), parse_time(created),
                       parse_time(revoked) if revoked else None)
                for name, digest, scope, created, revoked in rows]

    async def add_key(self, key: ApiKey) -> None:
        try:
            async with self._pool.acquire() as conn:
                await conn.execute(SQL.ADD_KEY, key.name, key.hash,
                                   key.scope.value, iso(key.created_at))
        except asyncpg.UniqueViolationError as error:
            raise KeyNameTaken(f"a key named {key.name!r} exists already") from error
        except ERRORS as error:
            raise StorageError(f"{type(error).__name__}: {error}") from error

    async def revoke_key(self, name: str, at: datetime) -> bool:
        status = await self._write(SQL.REVOKE_KEY, iso(at), name)
        return status.split()[-1] == "1"

    async def set_key_scope(self, name: str, scope: Scope) -> bool:
        status = await self._write(SQL.SET_SCOPE, scope.value, name)
        return status.split()[-1] == "1"

    async def keep_marks(self, marks: Sequence[tuple[str, Decimal]]) -> None:
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.executemany(SQL.KEEP_MARK,
                                       [(str(mark), order_id) for order_id, mark in marks])
        except ERRORS as error:
            raise StorageError(f"{type(error).__name__}: {error}") from error

    async def trading_state(self) -> TradingState:
        value = await self.engine_value("trading")
        return TradingState(value) if value else TradingState.ACTIVE

    async def set_trading_state(self, state: TradingState) -> None:
        await self.set_engine_value("trading", state.value)

    async def engine_value(self, key: str) -> str | None:
        rows = await self._read(SQL.ENGINE_VALUE, key)
        return str(rows[0][0]) if rows else None

    async def set_engine_value(self, key: str, value: str) -> None:
        await self._write(SQL.SET_ENGINE_VALUE, key, value)


async def _migrate(conn: Connection) -> None:
    """Apply what is missing, one migration per transaction, under an advisory lock: several
    engines starting at once migrate once."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(7310)")
        version = known(await _version(conn))
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await conn.execute(script)
            await conn.execute("INSERT INTO schema_history VALUES ($1)", number)


async def _version(conn: Connection) -> int:
    """How far along the schema's history this database is. One made before the history was
    one is placed on it (its own `schema_version` read once, then dropped)."""
    if await conn.fetchval("SELECT to_regclass('schema_history')") is not None:
        return int(await conn.fetchval("SELECT max(version) FROM schema_history") or 0)
    await conn.execute("CREATE TABLE schema_history (version INTEGER NOT NULL)")
    version = 0
    if await conn.fetchval("SELECT to_regclass('schema_version')") is not None:
        before = int(await conn.fetchval("SELECT max(version) FROM schema_version") or 0)
        if before and before not in POSTGRES_BEFORE:
            raise ValueError(f"this database's schema_version {before} is from no engine "
                             "this one knows")
        version = POSTGRES_BEFORE.get(before, 0)
        await conn.execute("DROP TABLE schema_version")
    await conn.execute("INSERT INTO schema_history SELECT generate_series(1, $1::int)", version)
    return version



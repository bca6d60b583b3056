"""The PostgreSQL store's group commit: one task takes the writes queued meanwhile and applies
them in one transaction, each in its own savepoint (a stale write is refused alone), assigning
feed positions under the counter's row lock and notifying the other engine processes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from engine.domain.events import OrderEvent, StoredEvent
from engine.domain.order import Order
from engine.ports import DuplicateKey, EventCodec, StaleOrder, StorageError
from engine.store.writer import MAX_BATCH, Statement, Write

ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)
Connection = asyncpg.Connection | PoolConnectionProxy  # what a pool hands out


class PostgresWriter:
    def __init__(self, pool: asyncpg.Pool, codec: EventCodec) -> None:
        self._codec = codec
        self._pool = pool
        self._queue: asyncio.Queue[Write] = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="postgres-writer")

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        while not self._queue.empty():
            waiter = self._queue.get_nowait().done
            if not waiter.done():
                waiter.set_exception(StorageError("store closed"))

    def enqueue(self, statement: Statement, order: Order, event: OrderEvent,
                 extra: Sequence[Statement] = ()) -> asyncio.Future[StoredEvent]:
        item = Write(statement, order, event, self._codec, extra)
        self._queue.put_nowait(item)
        return item.done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            commit = asyncio.ensure_future(self._commit(batch))
            try:
                results = await asyncio.shield(commit)
            except asyncio.CancelledError:  # closing: let the batch finish, then tell
                outcome = await asyncio.gather(commit, return_exceptions=True)
                self._resolve(batch, outcome[0])
                raise
            except ERRORS as error:
                self._resolve(batch, error)
                continue
            self._resolve(batch, results)

    @staticmethod
    def _resolve(batch: list[Write], results: Any) -> None:
        if isinstance(results, BaseException):
            failure = StorageError(f"{type(results).__name__}: {results}")
            results = [failure] * len(batch)
        for item, result in zip(batch, results, strict=True):
            if item.done.done():
                continue
            if isinstance(result, BaseException):
                item.done.set_exception(result)
            else:
                item.done.set_result(result)

    async def _commit(self, batch: list[Write]) -> list[StoredEvent | BaseException]:
        results: list[StoredEvent | BaseException] = []
        async with self._pool.acquire() as conn, conn.transaction():
            gseq = int(await conn.fetchval(
                "SELECT value FROM counters WHERE name='feed' FOR UPDATE"))
            for item in batch:
                try:
                    async with conn.transaction():  # a savepoint: a refusal spoils only it
                        results.append(await self._apply(conn, item, gseq + 1))
                    gseq += 1
                except StaleOrder as error:
                    results.append(error)
                except asyncpg.UniqueViolationError as error:
                    duplicate = "idempotency_keys" in str(error.constraint_name or "")
                    results.append(DuplicateKey(str(error)) if duplicate
                                   else StorageError(f"{type(error).__name__}: {error}"))
                except asyncpg.PostgresError as error:
                    results.append(StorageError(f"{type(error).__name__}: {error}"))
            await conn.execute("UPDATE counters SET value=$1 WHERE name='feed'", gseq)
            # Delivered at commit, to every process listening: only a position (payloads are
            # capped, and NOTIFY serialises commits): they read the events from the feed.
            await conn.execute("SELECT pg_notify('engine_feed', $1)", str(gseq))
        return results

    @staticmethod
    async def _apply(conn: Connection, item: Write, gseq: int) -> StoredEvent:
        sql, params = item.statement
        if (await conn.execute(sql, *params)).split()[-1] != "1":
            raise StaleOrder(f"order {item.event.order_id} changed under us "
                             f"(seq {item.event.seq})")
        event = item.stored(gseq)
        await conn.execute("INSERT INTO feed (gseq, order_id, seq) VALUES ($1, $2, $3)",
                           gseq, event.order_id, event.seq)
        await conn.execute("INSERT INTO events (order_id, seq, body) VALUES ($1, $2, $3)",
                           event.order_id, event.seq, event.body)
        for extra_sql, extra_params in item.extra:
            await conn.execute(extra_sql, *extra_params)
        return event


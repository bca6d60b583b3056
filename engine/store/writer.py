"""Group commit: one task and one thread own the write connection; a batch is one transaction.

Every transition waits for the fsync of the batch it joined, so a 201 or a broadcast still means
"durable"; but many transitions share one fsync and one thread hop instead of paying each.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.domain.events import OrderEvent, StoredEvent
from engine.domain.order import Order
from engine.ports import EventCodec, StaleOrder, StorageError

Statement = tuple[str, tuple[Any, ...]]
T = TypeVar("T")
MAX_BATCH = 512


@dataclass
class Write:
    """An order statement (must touch exactly one row), the order after the event, the event,
    and statements to add. The event is serialised by the writer thread, at its feed position."""

    statement: Statement
    order: Order
    event: OrderEvent
    codec: EventCodec
    extra: Sequence[Statement] = ()
    done: asyncio.Future[StoredEvent] = field(default_factory=lambda: (
        asyncio.get_running_loop().create_future()))

    def stored(self, gseq: int) -> StoredEvent:
        e = self.event
        return StoredEvent(e.order_id, e.seq, gseq, e.status,
                           self.codec.body(self.order, e, gseq), self.order.owner)


class GroupCommitWriter:
    def __init__(self, connect: Callable[[], sqlite3.Connection], codec: EventCodec) -> None:
        self._codec = codec
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._connect = connect
        self._db: sqlite3.Connection | None = None
        self._queue: asyncio.Queue[Write] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = self.writes = 0
        self._gseq: int | None = None  # the last feed position committed

    async def open(self) -> None:
        self._db = await self.call(lambda db: db, connect=True)
        self._task = asyncio.create_task(self._run(), name="sqlite-writer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        while not self._queue.empty():
            waiter = self._queue.get_nowait().done
            if not waiter.done():  # its writer may have been cancelled already
                waiter.set_exception(StorageError("store closed"))
        if self._db is not None:  # none if the file could not be opened at all
            await self.call(lambda db: db.close())
        self._thread.shutdown(wait=True)

    async def call(self, fn: Callable[[sqlite3.Connection], T], *, connect: bool = False) -> T:
        """Run `fn` on the writer thread, between batches (migrations, housekeeping)."""
        def run() -> T:
            if connect:
                self._db = self._connect()
            assert self._db is not None
            return fn(self._db)
        return await asyncio.get_running_loop().run_in_executor(self._thread, run)

    def enqueue(self, statement: Statement, order: Order, event: OrderEvent,
                extra: Sequence[Statement] = ()) -> asyncio.Future[StoredEvent]:
        """Queue a write now; the future gets the stored event once its batch is committed.

        Writes are committed in the order they were submitted."""
        item = Write(statement, order, event, self._codec, extra)
        self._queue.put_nowait(item)
        return item.done

    async def write(self, statement: Statement, order: Order, event: OrderEvent,
                    extra: Sequence[Statement] = ()) -> StoredEvent:
        """Queue a write and wait until the batch holding it is committed; returns the event."""
        return await self.enqueue(statement, order, event, extra)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            commit = loop.run_in_executor(self._thread, self._commit, batch)
            try:
                await asyncio.shield(commit)
            except asyncio.CancelledError:
                # Closing: the batch is in the thread's hands. Let it finish, so that every
                # waiter learns what became of its write, then stop.
                await asyncio.gather(commit, return_exceptions=True)
                self._resolve(batch, commit)
                raise
            except Exception:
                pass  # resolved below: the batch did not commit, nothing of it is stored
            self._resolve(batch, commit)

    def _resolve(self, batch: list[Write],
                 commit: asyncio.Future[Sequence[StoredEvent | BaseException]]) -> None:
        error = commit.exception()
        results = ([_storage_error(error)] * len(batch) if isinstance(error, Exception)
                   else commit.result())
        self.batches, self.writes = self.batches + 1, self.writes + len(batch)
        for item, result in zip(batch, results, strict=True):
            if item.done.done():
                continue  # the waiter was cancelled (shutdown); the store has the truth
            if isinstance(result, BaseException):
                item.done.set_exception(result)
            else:
                item.done.set_result(result)

    def _commit(self, batch: list[Write]) -> Sequence[StoredEvent | BaseException]:
        db = self._db
        assert db is not None
        if self._gseq is None:  # the feed's position; only this thread writes it
            row = db.execute("SELECT seq FROM sqlite_sequence WHERE name='feed'").fetchone()
            self._gseq = int(row[0]) if row else 0
        db.execute("BEGIN IMMEDIATE")
        try:
            results: Sequence[StoredEvent | BaseException] | None = self._apply_all(db, batch)
            if results is None:  # one write was refused: redo them one by one to isolate it
                db.execute("ROLLBACK")
                db.execute("BEGIN IMMEDIATE")
                gseq = self._gseq
                isolated: list[StoredEvent | BaseException] = []
                for item in batch:
                    isolated.append(self._apply(db, item, gseq + 1))
                    gseq += not isinstance(isolated[-1], BaseException)
                results = isolated
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        self._gseq += sum(not isinstance(r, BaseException) for r in results)
        return results

    def _apply_all(self, db: sqlite3.Connection, batch: list[Write]) -> list[StoredEvent] | None:
        """The whole batch with one executemany per kind of statement; None if any is refused.

        Statements of one kind keep their order, so two writes to one order apply in turn."""
        assert self._gseq is not None
        by_sql: dict[str, list[tuple[Any, ...]]] = {}
        for item in batch:
            by_sql.setdefault(item.statement[0], []).append(item.statement[1])
        events = [item.stored(self._gseq + n) for n, item in enumerate(batch, start=1)]
        try:
            for sql, rows in by_sql.items():
                if db.executemany(sql, rows).rowcount != len(rows):
                    return None  # an order changed under its writer: StaleOrder, found one by one
            db.executemany("INSERT INTO feed (gseq, order_id, seq) VALUES (?, ?, ?)",
                               [(e.gseq, e.order_id, e.seq) for e in events])
            db.executemany("INSERT INTO events (order_id, seq, body) VALUES (?, ?, ?)",
                               [(e.order_id, e.seq, e.body) for e in events])
            for item in batch:
                for sql, params in item.extra:
                    db.execute(sql, params)
        except sqlite3.Error:
            return None
        return events

    def _apply(self, db: sqlite3.Connection, item: Write,
               gseq: int) -> StoredEvent | BaseException:
        """One write inside the batch; a savepoint keeps its failure from spoiling the others."""
        db.execute("SAVEPOINT item")
        try:
            if db.execute(*item.statement).rowcount != 1:
                raise StaleOrder(f"order {item.event.order_id} changed under us "
                                 f"(seq {item.event.seq})")
            event = item.stored(gseq)
            db.execute("INSERT INTO feed (gseq, order_id, seq) VALUES (?, ?, ?)",
                          (gseq, event.order_id, event.seq))
            db.execute("INSERT INTO events (order_id, seq, body) VALUES (?, ?, ?)",
                          (event.order_id, event.seq, event.body))
            for sql, params in item.extra:
                db.execute(sql, params)
        except Exception as error:
            db.execute("ROLLBACK TO item")
            db.execute("RELEASE item")
            return _storage_error(error)
        db.execute("RELEASE item")
        return event



def _storage_error(error: Exception) -> Exception:
    """sqlite3's errors stay inside this adapter; the engine sees the port's StorageError."""
    if isinstance(error, sqlite3.Error | OSError):
        wrapped = StorageError(f"{type(error).__name__}: {error}")
        wrapped.__cause__ = error
        return wrapped
    return error

"""The simulated chain's own durable record, in its own SQLite file, apart from the engine's.

After an engine crash, this is "what really happened": landed transactions, transactions still in
flight, balances and pool states. It stands in for a remote cluster, so it is written off the
event loop, by its own thread, in batches of the transactions recorded meanwhile, each batch one
SQLite transaction holding the state its landings left (read as the batch is taken, once); a
landing is reported once it is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import orjson
from loguru import logger

from engine.domain.transactions import Landed
from engine.logs import Repeats

FIRST_PAUSE, LONGEST_PAUSE = 0.05, 2.0  # between tries of a batch the disk refused
# A value of the record read when its batch is taken to be written (a fresh object, or None for
# nothing to keep): a pool ten landings of one batch swapped on is read once, not ten times.
Later = Callable[[], Any]


def known(value: Any) -> Later:
    """A value read already (one no later landing changes)."""
    return lambda: value

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (
    signature TEXT PRIMARY KEY, memo TEXT NOT NULL, slot INTEGER NOT NULL,
    amount_in INTEGER NOT NULL, amount_out INTEGER NOT NULL, fee INTEGER NOT NULL,
    err TEXT, err_message TEXT NOT NULL, rent INTEGER NOT NULL,
    payload TEXT, meta BLOB);  -- the signed transaction (base64) and getTransaction's meta
CREATE INDEX IF NOT EXISTS ledger_by_memo ON ledger (memo);
CREATE INDEX IF NOT EXISTS ledger_by_slot ON ledger (slot);
CREATE TABLE IF NOT EXISTS in_flight (signature TEXT PRIMARY KEY, payload TEXT NOT NULL,
                                      last_valid_height INTEGER NOT NULL);
-- every account a landed transaction named, for getSignaturesForAddress
CREATE TABLE IF NOT EXISTS touched (address TEXT NOT NULL, slot INTEGER NOT NULL,
                                    signature TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS touched_by_address ON touched (address, slot);
"""


@dataclass
class _Batch:
    """Everything recorded since the last flush; written in one transaction."""

    sent: list[tuple[str, str, int]] = field(default_factory=list)
    landed: list[tuple[Any, ...]] = field(default_factory=list)
    touched: list[tuple[str, int, str]] = field(default_factory=list)
    settled: list[tuple[str]] = field(default_factory=list)  # no longer in flight
    meta: dict[str, Any] = field(default_factory=dict)  # the latest value of each key wins
    later: dict[str, Later] = field(default_factory=dict)  # read as the batch is taken
    durable: asyncio.Future[None] | None = None
    waiting: list[asyncio.Future[None]] = field(default_factory=list)  # merged batches' too

    def future(self) -> asyncio.Future[None]:
        if self.durable is None:
            self.durable = asyncio.get_running_loop().create_future()
        return self.durable

    def then(self, newer: _Batch) -> _Batch:
        """This batch, which could not be written, with what was recorded since: written
        together, in order, and whoever waits for either waits for both."""
        merged = _Batch(self.sent + newer.sent, self.landed + newer.landed,
                        self.touched + newer.touched, self.settled + newer.settled,
                        self.meta | newer.meta, newer.later)
        merged.waiting = [f for b in (self, newer) for f in (*b.waiting, b.durable) if f]
        return merged

    def read_later(self) -> None:
        """The values left to read, read now: as the batch's landings left them, after the
        last of them and before any of the next batch's. (A value read on the writer's thread
        could hold a landing whose record is in the next batch.)"""
        for key, read in self.later.items():
            try:
                value = read()
            except Exception:  # a bug: what landed is written all the same, without this value
                logger.exception("the chain's record could not read {}", key)
                continue
            if value is not None:
                self.meta[key] = value
        self.later = {}

    def written(self, error: BaseException | None = None) -> None:
        for waiter in (*self.waiting, self.durable):
            if waiter is not None and not waiter.done():
                if error is None:
                    waiter.set_result(None)
                else:
                    waiter.set_exception(error)


class RecordUnavailable(Exception):
    """The record cannot be opened or first written (a full disk, say): one line at start."""


class ChainRecord:
    def __init__(self, path: str) -> None:
        # Written by the writer thread (and at start-up, before it runs); read on the caller's
        # thread through a second connection, which WAL lets read while a batch is written.
        self._path = path
        try:
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # owner-only, as its WAL
            os.chmod(path, 0o600)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL survives a killed process (our chaos), not power loss; the chain is
            # a stand-in for a remote cluster, and its fsyncs would only slow it down.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(ledger)")}
            for column, kind in (("payload", "TEXT"), ("meta", "BLOB")):  # an older record's
                if column not in columns:
                    self._db.execute(f"ALTER TABLE ledger ADD COLUMN {column} {kind}")
            self._reader = sqlite3.connect(path, isolation_level=None)
        except (sqlite3.Error, OSError) as error:
            raise RecordUnavailable(f"cannot open the chain's record {path}: {error}") from None
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="chain-record")
        self._next = _Batch()
        self._writing: _Batch | None = None
        self._flusher: asyncio.Task[None] | None = None
        self.failing: str | None = None  # why the last write failed, while none has succeeded

    async def close(self, grace: float = 10.0) -> None:
        """Write what it holds (for `grace` seconds at most: a disk that stays full must not
        hold the process up for ever; what it could not write is said)."""
        try:
            await asyncio.wait_for(self.durable(), grace)
        except TimeoutError:
            unwritten = self._next
            logger.error("the chain's record is closed with {} not written: its disk "
                         "refused them for {:g} s", _count(unwritten), grace)
            if self._flusher is not None:
                self._flusher.cancel()
        await asyncio.get_running_loop().run_in_executor(self._thread, self._db.close)
        self._thread.shutdown()
        self._reader.close()

    def meta(self, key: str) -> Any:
        row = self._reader.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return orjson.loads(row[0]) if row else None

    def everything(self) -> dict[str, Any]:
        return {key: orjson.loads(value)
                for key, value in self._reader.execute("SELECT key, value FROM meta")}

    def landed(self, since_slot: int = 0) -> list[Landed]:
        """Landings from `since_slot` on, in landing order."""
        return self._landed("slot >= ? ORDER BY rowid", (since_slot,))

    def lookup(self, signature: str) -> Landed | None:
        found = self._landed("signature = ?", (signature,))
        return found[0] if found else None

    def landed_for(self, memo_prefix: str) -> list[Landed]:
        return self._landed("memo >= ? AND memo < ? ORDER BY rowid",
                            (memo_prefix, memo_prefix + "\uffff"))

    def details(self, signature: str) -> tuple[str, dict[str, Any]] | None:
        """The signed transaction and its meta, as getTransaction returns them."""
        row = self._reader.execute("SELECT payload, meta FROM ledger WHERE signature=? AND "
                                   "payload IS NOT NULL", (signature,)).fetchone()
        return None if row is None else (row[0], orjson.loads(row[1]))

    def _landed(self, where: str, params: tuple[Any, ...]) -> list[Landed]:
        # Only what is durable is read here: callers wait for `durable()` first.
        rows = self._reader.execute("SELECT signature, slot, amount_in, amount_out, fee, err, "
                                f"err_message, rent, memo FROM ledger WHERE {where}", params)
        return [Landed(s, slot, a_in, a_out, fee, err, msg, "confirmed", rent, memo)
                for s, slot, a_in, a_out, fee, err, msg, rent, memo in rows]

    def in_slots(self, first: int, last: int) -> list[tuple[Landed, str, dict[str, Any]]]:
        """The transactions that landed in these slots, with their bytes and meta, in order."""
        rows = self._reader.execute(
            "SELECT signature, slot, amount_in, amount_out, fee, err, err_message, rent, memo, "
            "payload, meta FROM ledger WHERE slot BETWEEN ? AND ? AND payload IS NOT NULL "
            "ORDER BY rowid", (first, last))
        return [(Landed(s, slot, a_in, a_out, fee, err, msg, "confirmed", rent, memo), payload,
                 orjson.loads(meta)) for s, slot, a_in, a_out, fee, err, msg, rent, memo,
                payload, meta in rows]

    def naming(self, address: str, limit: int) -> list[tuple[str, int]]:
        """(signature, slot) of the newest transactions that named `address`, newest first."""
        return list(self._reader.execute(
            "SELECT signature, slot FROM touched WHERE address=? ORDER BY slot DESC, rowid DESC "
            "LIMIT ?", (address, limit)))

    def in_flight(self) -> list[tuple[str, str, int]]:
        return list(self._reader.execute(
            "SELECT signature, payload, last_valid_height FROM in_flight"))

    def initialise(self, values: dict[str, Any]) -> None:
        """Write the first state of a new record, at start-up, before anything else."""
        try:
            self._write(_Batch(meta=values))
        except sqlite3.Error as error:
            raise RecordUnavailable(f"cannot write the chain's record {self._path}: "
                                    f"{error}") from None

    def sent(self, signature: str, payload: str, last_valid_height: int) -> None:
        self._open().sent.append((signature, payload, last_valid_height))

    def record(self, landed: Landed | None, signature: str, state: Mapping[str, Later],
               details: tuple[str, dict[str, Any]] | None = None,
               accounts: Sequence[str] = ()) -> None:
        """The landing (or the drop) of `signature`, the accounts it named and the state it
        left (each value read once its batch is taken), in one transaction."""
        batch = self._open()
        if landed is not None:
            batch.touched += [(address, landed.slot, signature) for address in accounts]
            payload, meta = details if details is not None else (None, None)
            batch.landed.append((landed.signature, landed.memo, landed.slot, landed.amount_in,
                                 landed.amount_out, landed.fee_lamports, landed.err,
                                 landed.err_message, landed.rent_lamports, payload,
                                 None if meta is None else orjson.dumps(meta)))
        batch.settled.append((signature,))
        batch.later |= state

    def put_meta(self, values: dict[str, Any]) -> None:
        self._open().meta |= values

    async def durable(self) -> None:
        """Wait until everything recorded so far is on disk (batches are written in order)."""
        newest = self._next if _pending(self._next) else self._writing
        if newest is not None:
            await asyncio.shield(newest.future())

    def _open(self) -> _Batch:
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        return self._next

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        failing = Repeats("the chain's record could not be written",
                          "the chain's record is written again")
        try:
            while _pending(self._next):
                batch, self._next = self._next, _Batch()
                self._writing = batch
                try:
                    batch.read_later()
                    await loop.run_in_executor(self._thread, self._write, batch)
                except sqlite3.Error as error:
                    # A full disk, say. What landed has landed: it is written ahead of what
                    # comes next once it can be, and whoever waits for it (a status) waits on.
                    self._next = batch.then(self._next)
                    failing.failed(error)
                    self.failing = f"{error} ({failing.count} tries)"
                    await asyncio.sleep(min(FIRST_PAUSE * 2 ** min(failing.count - 1, 32),
                                            LONGEST_PAUSE))
                except Exception as error:  # not the disk: nothing would make it go through
                    batch.written(error)
                else:
                    batch.written()
                    self.failing = None
                    failing.ended()
                finally:
                    self._writing = None
        finally:
            self._flusher = None

    def _write(self, batch: _Batch) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany("INSERT OR IGNORE INTO in_flight VALUES (?, ?, ?)", batch.sent)
            db.executemany("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           batch.landed)
            db.executemany("INSERT INTO touched VALUES (?, ?, ?)", batch.touched)
            db.executemany("DELETE FROM in_flight WHERE signature=?", batch.settled)
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                           [(k, orjson.dumps(v)) for k, v in batch.meta.items()])
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # a COMMIT that failed (a full disk) leaves it open
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise


def _pending(batch: _Batch) -> bool:
    return bool(batch.sent or batch.landed or batch.settled or batch.meta or batch.later
                or batch.touched)


def _count(batch: _Batch) -> str:
    landings, sends = len(batch.landed), len(batch.sent)
    return (f"{landings} landing{'' if landings == 1 else 's'} and "
            f"{sends} send{'' if sends == 1 else 's'}")

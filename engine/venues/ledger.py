"""The simulated chain's own durable record, in its own SQLite file, apart from the engine's.

After an engine crash, this is "what really happened": landed transactions, transactions still in
flight, balances and pool states. Written synchronously: it stands in for a remote cluster.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from engine.domain.transactions import Landed

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (
    signature TEXT PRIMARY KEY, memo TEXT NOT NULL, slot INTEGER NOT NULL,
    amount_in INTEGER NOT NULL, amount_out INTEGER NOT NULL, fee INTEGER NOT NULL,
    err TEXT, err_message TEXT NOT NULL, rent INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_by_memo ON ledger (memo);
CREATE TABLE IF NOT EXISTS in_flight (signature TEXT PRIMARY KEY, payload TEXT NOT NULL,
                                      last_valid_height INTEGER NOT NULL);
"""


class ChainRecord:
    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL survives a killed process (our chaos), not power loss; the chain is a
        # stand-in for a remote cluster, and its fsyncs would only slow the simulation down.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def meta(self, key: str) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return orjson.loads(row[0]) if row else None

    def everything(self) -> dict[str, Any]:
        return {key: orjson.loads(value)
                for key, value in self._db.execute("SELECT key, value FROM meta")}

    def landed(self) -> list[Landed]:
        rows = self._db.execute("SELECT signature, slot, amount_in, amount_out, fee, err, "
                                "err_message, rent, memo FROM ledger ORDER BY rowid").fetchall()
        return [Landed(s, slot, a_in, a_out, fee, err, msg, "confirmed", rent, memo)
                for s, slot, a_in, a_out, fee, err, msg, rent, memo in rows]

    def in_flight(self) -> list[tuple[str, str, int]]:
        return list(self._db.execute("SELECT signature, payload, last_valid_height FROM in_flight"))

    def sent(self, signature: str, payload: str, last_valid_height: int) -> None:
        self._db.execute("INSERT OR IGNORE INTO in_flight VALUES (?, ?, ?)",
                         (signature, payload, last_valid_height))

    def forget(self, signature: str) -> None:
        self._db.execute("DELETE FROM in_flight WHERE signature=?", (signature,))

    def record(self, landed: Landed | None, signature: str, state: dict[str, Any]) -> None:
        """Atomically: the landing (or the drop) of `signature`, and the state it left behind."""
        with self._transaction():
            if landed is not None:
                self._db.execute(
                    "INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (landed.signature, landed.memo, landed.slot, landed.amount_in,
                     landed.amount_out, landed.fee_lamports, landed.err, landed.err_message,
                     landed.rent_lamports))
            self._db.execute("DELETE FROM in_flight WHERE signature=?", (signature,))
            self.put_meta(state)

    def put_meta(self, values: dict[str, Any]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                             [(k, orjson.dumps(v)) for k, v in values.items()])

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

"""The SQL both stores share, written once in SQLite's `?` style (`numbered` turns it into
PostgreSQL's `$1, $2, ...`), and the paging both serve. What differs stays in each dialect:
the write path (a group-commit thread; a connection pool with leases), the feed counter, and
the schema histories."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from engine.domain.errors import InvalidCursor
from engine.domain.events import (
    Failed,
    Filled,
    OrderEvent,
    Routed,
    Signed,
    SliceDone,
    SliceSent,
    SliceSkipped,
    TriggerMoved,
)
from engine.domain.order import Order
from engine.domain.status import OrderStatus
from engine.ports import Page
from engine.store.records import iso
from engine.store.rows import COLUMNS, NAMES, learned, order_of, text

# The column each kind of event teaches the order (the others leave every column as it is).
COLUMN_OF: dict[type, str] = {Routed: "route", Signed: "tx", Filled: "fill", Failed: "error",
                              SliceSent: "progress", SliceDone: "progress",
                              SliceSkipped: "progress"}

INSERT_ORDER = f"INSERT INTO orders ({COLUMNS}) VALUES ({', '.join('?' * len(NAMES))})"
# The previous (seq, status) must match: a write queued behind a refused one fails too. The
# mark is written only by the event that moves it (or by keep_marks), so that an order object
# holding an older mark cannot overwrite a newer one kept meanwhile.
RECORD = ("UPDATE orders SET status=?, seq=?, attempts=?, updated_at=?, "
          "route=COALESCE(?, route), tx=COALESCE(?, tx), fill=COALESCE(?, fill), "
          "error=COALESCE(?, error), progress=COALESCE(?, progress), "
          "mark=COALESCE(?, mark) WHERE id=? AND seq=? AND status=?")
INSERT_KEY = ("INSERT INTO idempotency_keys (key, fingerprint, order_id, created_at) "
              "VALUES (?, ?, ?, ?)")
FIND_KEY = "SELECT key, fingerprint, order_id FROM idempotency_keys WHERE key=?"
FORGET_KEYS = "DELETE FROM idempotency_keys WHERE created_at < ?"
GET = f"SELECT {COLUMNS} FROM orders WHERE id=?"
EVENTS = ("SELECT e.body, o.owner FROM events e JOIN orders o ON o.id = e.order_id "
          "WHERE e.order_id=? AND e.seq>? ORDER BY e.seq")
FEED = ("SELECT e.body, o.owner FROM feed f JOIN events e ON e.order_id = f.order_id "
        "AND e.seq = f.seq JOIN orders o ON o.id = f.order_id "
        "WHERE f.gseq > ? ORDER BY f.gseq LIMIT ?")
API_KEYS = ("SELECT name, hash, scope, created_at, revoked_at FROM api_keys "
            "ORDER BY created_at, name")
ADD_KEY = "INSERT INTO api_keys (name, hash, scope, created_at) VALUES (?, ?, ?, ?)"
REVOKE_KEY = "UPDATE api_keys SET revoked_at=? WHERE name=? AND revoked_at IS NULL"
SET_SCOPE = "UPDATE api_keys SET scope=? WHERE name=? AND revoked_at IS NULL"
KEEP_MARK = "UPDATE orders SET mark=? WHERE id=? AND status='waiting'"
ENGINE_VALUE = "SELECT value FROM engine_state WHERE key=?"
SET_ENGINE_VALUE = ("INSERT INTO engine_state (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value=excluded.value")


def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, ...` (no `?` appears in our SQL otherwise)."""
    count = iter(range(1, sql.count("?") + 1))
    return re.sub(r"\?", lambda _: f"${next(count)}", sql)


def record_params(order: Order, event: OrderEvent, previous: OrderStatus) -> tuple[Any, ...]:
    """RECORD's parameters for the order after `event`."""
    mark = order.mark if isinstance(event.change, TriggerMoved) else None
    return (order.status.value, order.seq, order.attempts, iso(order.updated_at),
            *learned(order, COLUMN_OF.get(type(event.change), "")), text(mark),
            order.id, order.seq - 1, previous.value)


def page_query(status: OrderStatus | None, limit: int, cursor: str | None,
               owner: str | None) -> tuple[str, list[Any]]:
    """A page of orders, newest first: one more row than asked, to know if more follow."""
    where: list[str] = []
    params: list[Any] = []
    for column, value in (("owner", owner), ("status", status.value if status else None)):
        if value is not None:
            where.append(f"{column}=?")
            params.append(value)
    if cursor is not None:
        where.append("pk<?")
        params.append(_cursor_key(cursor))
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return (f"SELECT pk, {COLUMNS} FROM orders {clause} ORDER BY pk DESC LIMIT ?",
            [*params, limit + 1])


def page_of(rows: Sequence[Sequence[Any]], limit: int) -> Page:
    """The page `page_query`'s rows make; the cursor is the last row's key (the next page
    continues below it)."""
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([order_of(r[1:]) for r in rows], str(rows[-1][0]) if more else None)


def _cursor_key(cursor: str) -> int:
    if not (cursor.isascii() and cursor.isdigit()) or len(cursor) > 18:
        raise InvalidCursor("cursor is not one this API returned")
    return int(cursor)

"""The order store's schema: one history of migrations for both stores, applied in order at
start-up (SQLite records how far in PRAGMA user_version, PostgreSQL in `schema_history`).

Each step is written once, in the SQL both dialects share, with a few words that differ put as
`{blob}`, `{bigint}`, `{key}` (an auto-incremented primary key) and `{rowid}` (SQLite's
WITHOUT ROWID); a step only one dialect needs, or that each says its own way, has a text per
dialect (`Step`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Dialect = Literal["sqlite", "postgres"]
WORDS: dict[Dialect, dict[str, str]] = {
    "sqlite": {"blob": "BLOB", "bigint": "INTEGER", "key": "INTEGER PRIMARY KEY AUTOINCREMENT",
               "rowid": "WITHOUT ROWID"},
    "postgres": {"blob": "BYTEA", "bigint": "BIGINT", "key": "BIGSERIAL PRIMARY KEY",
                 "rowid": ""},
}


@dataclass(frozen=True, slots=True)
class Step:
    sqlite: str
    postgres: str

    def sql(self, dialect: Dialect) -> str:
        return (self.sqlite if dialect == "sqlite" else self.postgres).format(**WORDS[dialect])


def both(sql: str) -> Step:
    return Step(sql, sql)


STEPS: tuple[Step, ...] = (
    both("""
    CREATE TABLE orders (
        pk {key},  -- insertion order: the keyset for pagination
        id TEXT NOT NULL UNIQUE,
        order_type TEXT NOT NULL,
        mint_in TEXT NOT NULL,
        decimals_in INTEGER NOT NULL,
        mint_out TEXT NOT NULL,
        decimals_out INTEGER NOT NULL,
        amount_in {bigint} NOT NULL CHECK (amount_in > 0),
        slippage TEXT NOT NULL,
        status TEXT NOT NULL,
        seq INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        route {blob},
        tx {blob},
        fill {blob},
        error {blob}
    );
    CREATE INDEX orders_by_status ON orders (status, pk);
    CREATE TABLE events (
        order_id TEXT NOT NULL REFERENCES orders (id),
        seq INTEGER NOT NULL,
        body {blob} NOT NULL,  -- the event exactly as streamed
        PRIMARY KEY (order_id, seq)
    ) {rowid};
    """),
    both("""
    CREATE TABLE idempotency_keys (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,  -- sha256 of the canonical request body
        order_id TEXT NOT NULL REFERENCES orders (id),
        created_at TEXT NOT NULL
    ) {rowid};
    CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
    """),
    Step(sqlite="""
    CREATE TABLE feed (
        gseq INTEGER PRIMARY KEY AUTOINCREMENT,  -- global order of all events, for the firehose
        order_id TEXT NOT NULL,
        seq INTEGER NOT NULL
    );
    INSERT INTO feed (order_id, seq)
        SELECT order_id, seq FROM events ORDER BY json_extract(body, '$.at'), seq;
    """, postgres="""
    CREATE TABLE feed (  -- gseq: gap-free, assigned under the counter's row lock
        gseq BIGINT PRIMARY KEY,
        order_id TEXT NOT NULL,
        seq INTEGER NOT NULL
    );
    CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
    INSERT INTO counters VALUES ('feed', 0);
    """),
    both("""
    ALTER TABLE orders ADD COLUMN trigger_price TEXT;  -- limitPrice or maxPrice, as written
    ALTER TABLE orders ADD COLUMN expires_at TEXT;
    """),
    both("""
    CREATE TABLE api_keys (
        name TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,  -- sha256 of the key; the key itself is never stored
        scope TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    ) {rowid};
    ALTER TABLE orders ADD COLUMN owner TEXT;  -- the API key's name; NULL: placed without a key
    CREATE INDEX orders_by_owner ON orders (owner, pk);
    """),
    both("""
    CREATE TABLE engine_state (  -- what an operator set and a restart must keep
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) {rowid};
    """),
    both("""
    ALTER TABLE orders ADD COLUMN trail TEXT;  -- a trailing stop's distance, as written
    ALTER TABLE orders ADD COLUMN high_water TEXT;  -- and the best price it has seen
    """),
    both("""
    ALTER TABLE orders ADD COLUMN stop_price TEXT;  -- a bracket's stop (trigger_price: its target)
    """),
    both("""
    -- ExactOut orders fix the output: the amount is of the token swap_mode names.
    ALTER TABLE orders RENAME COLUMN amount_in TO amount;
    ALTER TABLE orders ADD COLUMN swap_mode TEXT NOT NULL DEFAULT 'ExactIn';
    """),
    both("""
    ALTER TABLE orders ADD COLUMN slices INTEGER;  -- a TWAP's schedule
    ALTER TABLE orders ADD COLUMN interval_seconds INTEGER;
    ALTER TABLE orders ADD COLUMN progress {blob};  -- and how far it has got (JSON, atoms)
    ALTER TABLE orders ADD COLUMN parent TEXT;  -- a TWAP slice's parent order
    CREATE INDEX orders_by_parent ON orders (parent) WHERE parent IS NOT NULL;
    """),
    both("""
    ALTER TABLE orders ADD COLUMN priority_fee TEXT;  -- "auto", "high" or µlamports; NULL: by type
    """),
    # An order type's terms as its own record (`OrderType.record`), in place of a column per
    # field of every type: a new order type needs no migration. `mark` is what moves a
    # waiting order's trigger, a trailing stop's best price or a stop-limit's trigger.
    Step(sqlite="""
    ALTER TABLE orders ADD COLUMN terms BLOB NOT NULL DEFAULT '{{}}';
    UPDATE orders SET terms = CASE order_type
        WHEN 'limit' THEN json_object('price', trigger_price)
        WHEN 'stop' THEN json_object('price', trigger_price)
        WHEN 'sniper' THEN json_object('max_price', trigger_price)
        WHEN 'trailing_stop' THEN json_object('trail', trail)
        WHEN 'bracket' THEN json_object('take_profit', trigger_price, 'stop', stop_price)
        WHEN 'twap' THEN json_object('slices', slices, 'interval', interval_seconds,
                                     'limit', trigger_price)
        ELSE '{{}}' END;
    ALTER TABLE orders RENAME COLUMN high_water TO mark;
    ALTER TABLE orders DROP COLUMN trigger_price;
    ALTER TABLE orders DROP COLUMN trail;
    ALTER TABLE orders DROP COLUMN stop_price;
    ALTER TABLE orders DROP COLUMN slices;
    ALTER TABLE orders DROP COLUMN interval_seconds;
    """, postgres="""
    ALTER TABLE orders ADD COLUMN terms BYTEA NOT NULL DEFAULT convert_to('{{}}', 'UTF8');
    UPDATE orders SET terms = convert_to(CASE order_type
        WHEN 'limit' THEN json_build_object('price', trigger_price)::text
        WHEN 'stop' THEN json_build_object('price', trigger_price)::text
        WHEN 'sniper' THEN json_build_object('max_price', trigger_price)::text
        WHEN 'trailing_stop' THEN json_build_object('trail', trail)::text
        WHEN 'bracket' THEN json_build_object('take_profit', trigger_price,
                                              'stop', stop_price)::text
        WHEN 'twap' THEN json_build_object('slices', slices, 'interval', interval_seconds,
                                           'limit', trigger_price)::text
        ELSE '{{}}' END, 'UTF8');
    ALTER TABLE orders RENAME COLUMN high_water TO mark;
    ALTER TABLE orders DROP COLUMN trigger_price, DROP COLUMN trail, DROP COLUMN stop_price,
        DROP COLUMN slices, DROP COLUMN interval_seconds;
    """),
    # Which engine process executes or watches an order, until when: renewed while it lives,
    # taken over by another once it has expired. Only engines sharing PostgreSQL lease orders.
    # (Written so that a database made before this history, which has them, is left as it is.)
    Step(sqlite="", postgres="""
    ALTER TABLE orders ADD COLUMN IF NOT EXISTS claimed_by TEXT;
    ALTER TABLE orders ADD COLUMN IF NOT EXISTS lease_until TIMESTAMPTZ;
    CREATE INDEX IF NOT EXISTS orders_by_lease ON orders (lease_until)
        WHERE claimed_by IS NOT NULL;
    """),
)

# A PostgreSQL store made before the history was one kept its own three steps in
# `schema_version`: where each of them stands in this history (the lease step, which they
# may already have, is written to find it there).
POSTGRES_BEFORE: dict[int, int] = {1: 11, 2: 11, 3: 12}


class NewerSchema(Exception):
    """The database was written by a newer engine: this one would misread it."""


def known(version: int) -> int:
    """`version` (how far a database is along the history), if this engine knows it; a
    database that a newer engine has moved past is refused, never written to."""
    if version > len(STEPS):
        raise NewerSchema(f"its schema is at step {version}, past this engine's last "
                          f"({len(STEPS)}): a newer engine wrote it; run that one, or a "
                          "backup taken before")
    return version


def migrations(dialect: Dialect) -> tuple[str, ...]:
    """Every step's SQL in `dialect`, in order (step n is at index n - 1)."""
    return tuple(step.sql(dialect) for step in STEPS)

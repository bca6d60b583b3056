"""The PostgreSQL store's schema migrations, applied in order; schema_version records how far.

The same tables as SQLite's, in PostgreSQL's types; times stay ISO-8601 text, as the rows'
codec writes them, so both stores share it."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE orders (
        pk BIGSERIAL PRIMARY KEY,  -- insertion order: the keyset for pagination
        id TEXT NOT NULL UNIQUE,
        order_type TEXT NOT NULL,
        mint_in TEXT NOT NULL,
        decimals_in INTEGER NOT NULL,
        mint_out TEXT NOT NULL,
        decimals_out INTEGER NOT NULL,
        amount BIGINT NOT NULL CHECK (amount > 0),
        slippage TEXT NOT NULL,
        status TEXT NOT NULL,
        seq INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        route BYTEA, tx BYTEA, fill BYTEA, error BYTEA, progress BYTEA,
        trigger_price TEXT, expires_at TEXT, owner TEXT, trail TEXT, high_water TEXT,
        stop_price TEXT, swap_mode TEXT NOT NULL DEFAULT 'ExactIn', slices INTEGER,
        interval_seconds INTEGER, parent TEXT, priority_fee TEXT
    );
    CREATE INDEX orders_by_status ON orders (status, pk);
    CREATE INDEX orders_by_owner ON orders (owner, pk);
    CREATE INDEX orders_by_parent ON orders (parent) WHERE parent IS NOT NULL;
    CREATE TABLE events (
        order_id TEXT NOT NULL REFERENCES orders (id),
        seq INTEGER NOT NULL,
        body BYTEA NOT NULL,  -- the event exactly as streamed
        PRIMARY KEY (order_id, seq)
    );
    CREATE TABLE feed (  -- gseq: gap-free, assigned under the counter's row lock
        gseq BIGINT PRIMARY KEY,
        order_id TEXT NOT NULL,
        seq INTEGER NOT NULL
    );
    CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
    INSERT INTO counters VALUES ('feed', 0);
    CREATE TABLE idempotency_keys (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        order_id TEXT NOT NULL REFERENCES orders (id),
        created_at TEXT NOT NULL
    );
    CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
    CREATE TABLE api_keys (
        name TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        scope TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE TABLE engine_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    """
    -- Which engine process executes or watches an order, until when: renewed while it lives,
    -- taken over by another once it has expired.
    ALTER TABLE orders ADD COLUMN claimed_by TEXT;
    ALTER TABLE orders ADD COLUMN lease_until TIMESTAMPTZ;
    CREATE INDEX orders_by_lease ON orders (lease_until) WHERE claimed_by IS NOT NULL;
    """,
    """
    -- An order type's terms as its own record (`OrderType.record`), in place of a column per
    -- field of every type: a new order type needs no migration.
    ALTER TABLE orders ADD COLUMN terms BYTEA NOT NULL DEFAULT convert_to('{}', 'UTF8');
    UPDATE orders SET terms = convert_to(CASE order_type
        WHEN 'limit' THEN json_build_object('price', trigger_price)::text
        WHEN 'stop' THEN json_build_object('price', trigger_price)::text
        WHEN 'sniper' THEN json_build_object('max_price', trigger_price)::text
        WHEN 'trailing_stop' THEN json_build_object('trail', trail)::text
        WHEN 'bracket' THEN json_build_object('take_profit', trigger_price,
                                              'stop', stop_price)::text
        WHEN 'twap' THEN json_build_object('slices', slices, 'interval', interval_seconds,
                                           'limit', trigger_price)::text
        ELSE '{}' END, 'UTF8');
    ALTER TABLE orders RENAME COLUMN high_water TO mark;
    ALTER TABLE orders DROP COLUMN trigger_price, DROP COLUMN trail, DROP COLUMN stop_price,
        DROP COLUMN slices, DROP COLUMN interval_seconds;
    """,
)

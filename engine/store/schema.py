"""Schema migrations, applied in order at start-up; PRAGMA user_version records how far."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE orders (
        pk INTEGER PRIMARY KEY AUTOINCREMENT,  -- insertion order: the keyset for pagination
        id TEXT NOT NULL UNIQUE,
        order_type TEXT NOT NULL,
        mint_in TEXT NOT NULL,
        decimals_in INTEGER NOT NULL,
        mint_out TEXT NOT NULL,
        decimals_out INTEGER NOT NULL,
        amount_in INTEGER NOT NULL CHECK (amount_in > 0),
        slippage TEXT NOT NULL,
        status TEXT NOT NULL,
        seq INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        route BLOB,
        tx BLOB,
        fill BLOB,
        error BLOB
    );
    CREATE INDEX orders_by_status ON orders (status, pk);
    CREATE TABLE events (
        order_id TEXT NOT NULL REFERENCES orders (id),
        seq INTEGER NOT NULL,
        body BLOB NOT NULL,  -- the event exactly as streamed
        PRIMARY KEY (order_id, seq)
    ) WITHOUT ROWID;
    """,
    """
    CREATE TABLE idempotency_keys (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,  -- sha256 of the canonical request body
        order_id TEXT NOT NULL REFERENCES orders (id),
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
    """,
    """
    CREATE TABLE feed (
        gseq INTEGER PRIMARY KEY AUTOINCREMENT,  -- global order of all events, for the firehose
        order_id TEXT NOT NULL,
        seq INTEGER NOT NULL
    );
    INSERT INTO feed (order_id, seq)
        SELECT order_id, seq FROM events ORDER BY json_extract(body, '$.at'), seq;
    """,
    """
    ALTER TABLE orders ADD COLUMN trigger_price TEXT;  -- limitPrice or maxPrice, as written
    ALTER TABLE orders ADD COLUMN expires_at TEXT;
    """,
    """
    CREATE TABLE api_keys (
        name TEXT PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,  -- sha256 of the key; the key itself is never stored
        scope TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    ) WITHOUT ROWID;
    ALTER TABLE orders ADD COLUMN owner TEXT;  -- the API key's name; NULL: placed without a key
    CREATE INDEX orders_by_owner ON orders (owner, pk);
    """,
    """
    CREATE TABLE engine_state (  -- what an operator set and a restart must keep
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    """
    ALTER TABLE orders ADD COLUMN trail TEXT;  -- a trailing stop's distance, as written
    ALTER TABLE orders ADD COLUMN high_water TEXT;  -- and the best price it has seen
    """,
    """
    ALTER TABLE orders ADD COLUMN stop_price TEXT;  -- a bracket's stop (trigger_price: its target)
    """,
    """
    -- ExactOut orders fix the output: the amount is of the token swap_mode names.
    ALTER TABLE orders RENAME COLUMN amount_in TO amount;
    ALTER TABLE orders ADD COLUMN swap_mode TEXT NOT NULL DEFAULT 'ExactIn';
    """,
    """
    ALTER TABLE orders ADD COLUMN slices INTEGER;  -- a TWAP's schedule
    ALTER TABLE orders ADD COLUMN interval_seconds INTEGER;
    ALTER TABLE orders ADD COLUMN progress BLOB;  -- and how far it has got (JSON, atoms)
    ALTER TABLE orders ADD COLUMN parent TEXT;  -- a TWAP slice's parent order
    CREATE INDEX orders_by_parent ON orders (parent) WHERE parent IS NOT NULL;
    """,
    """
    ALTER TABLE orders ADD COLUMN priority_fee TEXT;  -- "auto", "high" or µlamports; NULL: by type
    """,
    """
    -- An order type's terms as its own record (`OrderType.record`), in place of a column per
    -- field of every type: a new order type needs no migration. `mark` is what moves a
    -- waiting order's trigger, a trailing stop's best price or a stop-limit's trigger.
    ALTER TABLE orders ADD COLUMN terms BLOB NOT NULL DEFAULT '{}';
    UPDATE orders SET terms = CASE order_type
        WHEN 'limit' THEN json_object('price', trigger_price)
        WHEN 'stop' THEN json_object('price', trigger_price)
        WHEN 'sniper' THEN json_object('max_price', trigger_price)
        WHEN 'trailing_stop' THEN json_object('trail', trail)
        WHEN 'bracket' THEN json_object('take_profit', trigger_price, 'stop', stop_price)
        WHEN 'twap' THEN json_object('slices', slices, 'interval', interval_seconds,
                                     'limit', trigger_price)
        ELSE '{}' END;
    ALTER TABLE orders RENAME COLUMN high_water TO mark;
    ALTER TABLE orders DROP COLUMN trigger_price;
    ALTER TABLE orders DROP COLUMN trail;
    ALTER TABLE orders DROP COLUMN stop_price;
    ALTER TABLE orders DROP COLUMN slices;
    ALTER TABLE orders DROP COLUMN interval_seconds;
    """,
)

"""What the engine and the chain left on disk, read directly, trusting nothing the engine says:
every accepted order ended, none executed twice, none confirmed without a transaction, each
order's events without gaps, and the wallet equal to the ledger. Used by scripts/chaos.py and
by the tests that kill the engine."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from engine.config import state_paths

TERMINAL = ("confirmed", "partially_filled", "failed")


@dataclass(frozen=True)
class Audit:
    accepted: int  # orders placed through the API (a TWAP's slices are counted apart)
    slices: int  # child orders the TWAPs created
    terminal: int  # of all of them
    missing: int  # answered 201 but not in the database
    executed_twice: int
    confirmed_without_execution: int
    failed_but_executed: int
    gaps: int

    @property
    def lost(self) -> int:
        return self.accepted + self.slices - self.terminal + self.missing

    @property
    def clean(self) -> bool:
        return not (self.lost or self.executed_twice or self.confirmed_without_execution
                    or self.failed_but_executed or self.gaps)


def audit(db: Path, acknowledged: set[str], chain_db: Path | None = None) -> Audit:
    """Read the engine's and the chain's databases directly; trust nothing the engine says."""
    orders = sqlite3.connect(db)
    rows = orders.execute("SELECT id, status, seq, order_type, parent FROM orders").fetchall()
    events = dict(orders.execute("SELECT order_id, group_concat(seq) FROM "
                                 "(SELECT order_id, seq FROM events ORDER BY order_id, seq) "
                                 "GROUP BY order_id").fetchall())
    orders.close()
    return _judge(rows, events, _executed(chain_db or Path(state_paths(str(db)).chain_db)), acknowledged)


async def audit_postgres(url: str, acknowledged: set[str], chain_db: Path) -> Audit:
    """The same audit, of an order book on PostgreSQL."""
    import asyncpg  # only the scale-out audit needs it

    conn = await asyncpg.connect(url)
    try:
        rows = [tuple(r) for r in await conn.fetch(
            "SELECT id, status, seq, order_type, parent FROM orders")]
        events = {r[0]: r[1] for r in await conn.fetch(
            "SELECT order_id, string_agg(seq::text, ',' ORDER BY seq) FROM events "
            "GROUP BY order_id")}
    finally:
        await conn.close()
    return _judge(rows, events, _executed(chain_db), acknowledged)


async def reconcile_wallet(url: str, chain_db: Path) -> tuple[int, int]:
    """The wallet against the chain's ledger and the orders' fills, read from the databases:
    (mints whose final balance is not the start plus every landed transaction's effect,
    confirmed orders whose stored fill is not what their transaction moved). For direct routes,
    which chaos.py's orders take: the ledger keeps a transaction's input and output, not what a
    two-hop route leaves of its intermediate token."""
    import asyncpg
    import orjson

    from engine.domain.tokens import unlisted
    from engine.simulator.wallet import Wallet
    from engine.store.records import fill_of

    conn = await asyncpg.connect(url)
    try:
        orders = {r["id"]: r for r in await conn.fetch(
            "SELECT id, mint_in, mint_out, decimals_in, decimals_out, status, fill FROM orders")}
    finally:
        await conn.close()
    chain = sqlite3.connect(chain_db)
    final = orjson.loads(chain.execute("SELECT value FROM meta WHERE key='wallet'").fetchone()[0])
    ledger = chain.execute("SELECT memo, amount_in, amount_out, fee, rent, err FROM ledger")
    expected = dict(Wallet.generous().balances)
    sol = "So11111111111111111111111111111111111111112"
    fills_wrong = 0
    for memo, amount_in, amount_out, fee, rent, err in ledger:
        order = orders[memo.split(":")[1]]
        expected[sol] = expected.get(sol, 0) - fee - rent
        if err is not None:
            continue
        expected[order["mint_in"]] = expected.get(order["mint_in"], 0) - amount_in
        expected[order["mint_out"]] = expected.get(order["mint_out"], 0) + amount_out
        # The stored fill, read as the store reads it (its own record, or an older API shape).
        fill = fill_of(orjson.loads(order["fill"]), unlisted(order["mint_in"],
                                                             order["decimals_in"]),
                       unlisted(order["mint_out"], order["decimals_out"])) if order["fill"] else None
        moved = None if fill is None else (fill.amount_in, fill.amount_out)
        fills_wrong += moved != (amount_in, amount_out)
    chain.close()
    balances = final["balances"]
    wrong = sum(balances.get(m, 0) != v for m, v in expected.items())
    return wrong, fills_wrong


def _executed(chain_db: Path) -> dict[str, int]:
    """How many transactions executed on the chain for each order (by their memo)."""
    chain = sqlite3.connect(chain_db)
    executed: dict[str, int] = {}
    for (memo,) in chain.execute("SELECT memo FROM ledger WHERE err IS NULL"):
        order_id = memo.split(":")[1]
        executed[order_id] = executed.get(order_id, 0) + 1
    chain.close()
    return executed


def _judge(rows: list[tuple[str, str, int, str, str | None]], events: dict[str, str],
           executed: dict[str, int], acknowledged: set[str]) -> Audit:
    slices = sum(parent is not None for *_, parent in rows)
    # A TWAP parent executes nothing itself: its slices are orders of their own, audited as such.
    parents = {oid for oid, _, _, kind, _ in rows if kind == "twap"}
    stored = {oid for oid, *_ in rows}
    gaps = sum(events.get(oid, "") != ",".join(map(str, range(1, seq + 1)))
               for oid, _, seq, *_ in rows)
    return Audit(
        accepted=len(rows) - slices, slices=slices,
        terminal=sum(status in TERMINAL for _, status, *_ in rows),
        missing=len(acknowledged - stored),
        executed_twice=sum(n > 1 for n in executed.values()),
        confirmed_without_execution=sum(status == "confirmed" and oid not in executed
                                        and oid not in parents for oid, status, *_ in rows),
        failed_but_executed=sum(status == "failed" and oid in executed
                                for oid, status, *_ in rows),
        gaps=gaps)

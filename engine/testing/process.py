"""The engine as a separate process, the README way, and an audit of what it left on disk.

Used by scripts/chaos.py and by the tests that send real signals (SIGTERM, SIGKILL).
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from engine.config import is_postgres, state_paths

TERMINAL = ("confirmed", "partially_filled", "failed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children_of(pid: int) -> list[int]:
    """The pids of a process's children (Linux): `--processes N`'s engines, say."""
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


Probe = Any  # a request in flight, as `session.get(...)` returns it: used with `async with`


class _Served:
    """A server of ours as a child process, on a free port, started the README way."""

    what = "server"

    def __init__(self, db: Path | str, *args: str, log: Path | None = None) -> None:
        self.db, self.args, self.log = db, args, log  # log: where its stderr goes
        # On a PostgreSQL URL, the state an engine keeps beside its database (the wallet, the
        # embedded cluster's record) is in its working directory: a directory of its own, kept
        # while this object lives, never the caller's (where parallel tests would share it).
        self._home: str | None = None
        if is_postgres(str(db)):
            self._home = tempfile.mkdtemp(prefix="engine-proc-")
            weakref.finalize(self, shutil.rmtree, self._home, ignore_errors=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    async def _launch(self, cmd: list[str],
                      probe: Callable[[aiohttp.ClientSession], Probe], timeout: float) -> None:
        """Start `cmd` and wait until `probe(session)` (a request) answers 200."""
        with open(self.log or "/dev/null", "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log,
                                         cwd=self._home)
        async with aiohttp.ClientSession() as session:
            for _ in range(int(timeout / 0.05)):
                try:
                    async with probe(session) as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.what} exited with {self.proc.returncode}")
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.what} did not become healthy")

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as a power cut would leave it."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    async def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.proc.wait, timeout)


class EngineProcess(_Served):
    what = "engine"

    async def start(self, timeout: float = 20.0) -> None:
        await self._launch([sys.executable, "-m", "engine", "--port", str(self.port),
                            "--db", str(self.db), "--log-level", "WARNING", *self.args],
                           lambda session: session.get(f"{self.url}/healthz"), timeout)


class ClusterProcess(_Served):
    """`python -m engine cluster`: the simulated cluster as its own process, over HTTP."""

    what = "cluster"

    async def start(self, timeout: float = 20.0) -> None:
        health = {"jsonrpc": "2.0", "id": 1, "method": "getHealth", "params": []}
        # The port after --port is left alone unless asked for: another test may hold it.
        second = () if "--pubsub-port" in self.args else ("--pubsub-port", "0")
        await self._launch([sys.executable, "-m", "engine", "cluster", "--port",
                            str(self.port), "--db", str(self.db), *second, *self.args],
                           lambda session: session.post(self.url, json=health), timeout)


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


# Every kind of order, the waiting ones with triggers already met: each passes through
# `waiting` and fires at once, so the audit can expect every one to end confirmed or failed.
MIX = ({"orderType": "market"}, {"orderType": "limit", "limitPrice": "1e-15"},
       {"orderType": "stop", "triggerPrice": "1e15"},
       {"orderType": "bracket", "takeProfitPrice": "1e-14", "stopPrice": "1e-15"},
       {"orderType": "market", "swapMode": "ExactOut"},
       {"orderType": "twap", "slices": 2, "intervalSeconds": 1})


async def submit_until(url: str, stop: asyncio.Event, accepted: set[str], rate: float) -> None:
    """Submit orders of every type, in turn, at about `rate` per second until `stop`,
    collecting the acknowledged ids."""
    base = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.5, "slippage": 0.05}
    async with aiohttp.ClientSession() as session:
        for n in itertools.count():
            if stop.is_set():
                break
            body = {**base, **MIX[n % len(MIX)]}
            try:
                async with session.post(f"{url}/api/orders/execute", json=body) as resp:
                    if resp.status == 201:
                        accepted.add((await resp.json())["orderId"])
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(1 / rate)


async def statuses(session: aiohttp.ClientSession, url: str,
                   order_ids: Iterable[str]) -> set[str]:
    """The statuses these orders are in, as the engine at `url` answers (with
    `EngineHarness.wait_until`: `lambda found: found == {"confirmed"}`)."""
    found = set()
    for order_id in order_ids:
        async with session.get(f"{url}/api/orders/{order_id}") as resp:
            found.add((await resp.json())["status"])
    return found


async def health(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    """What the engine at `url` answers at /healthz."""
    async with session.get(f"{url}/healthz") as resp:
        return dict(await resp.json())


def says(reason: str) -> Callable[[dict[str, Any]], bool]:
    """A health whose reasons name `reason` (with `EngineHarness.wait_until`)."""
    return lambda found: any(reason in said for said in found.get("reasons", []))


def healthy(found: dict[str, Any]) -> bool:
    """A health that is "ok" (with `EngineHarness.wait_until`; the last answer of the store
    and the node may be a second old)."""
    return found.get("status") == "ok"


async def wait_all_terminal(url: str, timeout: float) -> bool:
    async with aiohttp.ClientSession() as session:
        for _ in range(int(timeout / 0.2)):
            live = 0
            for status in ("pending", "waiting", "routing", "building", "submitted"):
                async with session.get(f"{url}/api/orders", params={"status": status,
                                                                     "limit": "1"}) as resp:
                    live += len((await resp.json())["orders"])
            if not live:
                return True
            await asyncio.sleep(0.2)
    return False

"""The engine (and the cluster) as a separate process, the README way, and the calls that load
and watch it. Used by scripts/chaos.py and by the tests that send real signals (SIGTERM,
SIGKILL); what it left on disk is judged by `engine.testing.audit`.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import aiohttp

from engine.config import is_postgres


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

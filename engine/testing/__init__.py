"""Run the engine in-process on simulated venues, for bots' tests and ours.

    async with EngineHarness.start(tmp_path / "engine.db") as engine:
        order_id = await engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
        final = await engine.wait_terminal(order_id)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from engine.api.app_keys import ENGINE
from engine.app import build_app, build_world, open_store
from engine.clock import SystemClock
from engine.config import Settings, is_postgres
from engine.domain.access import KEY_PREFIX, ApiKey, Scope, key_hash
from engine.domain.status import TERMINAL
from engine.ports import Chain, Clock, OrderStore
from engine.simulator.world import SimWorld
from engine.testing.clock import ManualClock
from engine.usecases import Engine
from engine.usecases.operations import Health

T = TypeVar("T")

__all__ = ["EngineHarness", "ManualClock"]


class EngineHarness:
    """A live engine on 127.0.0.1 with a client for it and the simulated world behind it."""

    def __init__(self, settings: Settings, clock: Clock, world: SimWorld, *,
                 connection: type[sqlite3.Connection] = sqlite3.Connection,
                 chain: Callable[[Chain], Chain] | None = None) -> None:
        self.settings, self.clock, self.world = settings, clock, world
        self._connection, self._wrap_chain = connection, chain
        self._runner: web.AppRunner | None = None
        self._store: OrderStore | None = None
        self.key: str | None = None  # sent with the harness's own requests (`use_key`)
        self.url = ""
        self.http: aiohttp.ClientSession | None = None

    @classmethod
    @asynccontextmanager
    async def start(cls, db: str | Path, *, seed: int = 7, failure_rate: float = 0.0,
                    latency_scale: float = 0.0, workers: int = 10, max_pending: int = 10_000,
                    stream_buffer: int = 256, send_timeout: float = 10.0,
                    clock: Clock | None = None,
                    connection: type[sqlite3.Connection] = sqlite3.Connection,
                    chain: Callable[[Chain], Chain] | None = None,
                    **overrides: Any) -> AsyncIterator[EngineHarness]:
        """Start an engine: zero latency, no random failures and no request rate limit unless
        asked for, with the simulated market's controls (`/api/sim/*`) served.

        `connection` is the class of the store's write connection (to script disk faults);
        `chain` wraps the simulated chain the engine talks to (to script crashes); any other
        keyword is a setting (`engine.config.Settings`), e.g. `cors_origins=(...)`."""
        clock = clock or SystemClock()
        # On a PostgreSQL URL the wallet would be kept in the working directory (the caller's
        # project): it is kept in a directory of the harness's own instead, for its lifetime.
        home = None
        if is_postgres(str(db)) and "keypair" not in overrides:
            home = tempfile.mkdtemp(prefix="engine-harness-")
            overrides["keypair"] = os.path.join(home, "wallet.json")
        settings = replace(Settings(), db=str(db), seed=seed, failure_rate=failure_rate,
                           latency_scale=latency_scale, workers=workers, port=0,
                           shutdown_grace=0.0, max_pending=max_pending,
                           stream_buffer=stream_buffer, send_timeout=send_timeout,
                           **{"sim_api": True, "requests_per_second": 0.0, **overrides})
        try:
            harness = cls(settings, clock, build_world(settings, clock), connection=connection,
                          chain=chain)
            await harness.boot()
            try:
                yield harness
            finally:
                await harness.shutdown()
        finally:
            if home is not None:
                shutil.rmtree(home, ignore_errors=True)

    @property
    def engine_app(self) -> web.Application:
        assert self._runner is not None
        return self._runner.app

    @property
    def engine(self) -> Engine:
        assert self._runner is not None
        return self._runner.app[ENGINE]

    async def boot(self) -> None:
        """Start (or restart) the engine on the same database and the same simulated chain."""
        self._store = await open_store(self.settings, connection=self._connection)
        app = build_app(self.settings, clock=self.clock, world=self.world, store=self._store,
                        wrap_chain=self._wrap_chain)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self.http = aiohttp.ClientSession(self.url)

    async def shutdown(self) -> None:
        """Stop the engine as a crash would leave it: unfinished orders stay unfinished."""
        if self.http is not None:
            await self.http.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._store is not None:
            await self._store.close()
        self._runner = self.http = self._store = None

    async def create_key(self, name: str, scope: str) -> str:
        """Create an API key (as `python -m engine keys create` does) and return it; the
        running engine knows it at once."""
        assert self._store is not None
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        await self._store.add_key(ApiKey(name, key_hash(secret), Scope(scope),
                                         self.clock.now()))
        await self.engine.access.reload()
        return secret

    def use_key(self, key: str | None) -> None:
        """Make the harness's own requests and streams with this API key (None: without)."""
        self.key = key

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    async def revoke_key(self, name: str) -> None:
        assert self._store is not None
        await self._store.revoke_key(name, self.clock.now())
        await self.engine.access.reload()

    async def set_key_scope(self, name: str, scope: str) -> None:
        assert self._store is not None
        await self._store.set_key_scope(name, Scope(scope))
        await self.engine.access.reload()

    async def restart(self) -> None:
        await self.shutdown()
        await self.boot()

    async def post_order(self, body: Any, **headers: str) -> tuple[int, dict[str, Any]]:
        """POST /api/orders/execute with any body; returns (status, JSON)."""
        assert self.http is not None
        data = body if isinstance(body, (bytes, str)) else None
        kwargs: dict[str, Any] = {"data": data} if data is not None else {"json": body}
        if data is not None and not any(h.lower() == "content-type" for h in headers):
            headers = {**headers, "Content-Type": "application/json"}
        headers = {**self._auth(), **headers}
        async with self.http.post("/api/orders/execute", headers=headers, **kwargs) as resp:
            return resp.status, await resp.json()

    async def submit(self, *, orderType: str = "market", **fields: Any) -> str:
        """Submit an order (API field names) and return its id; raise on a non-201."""
        status, body = await self.post_order({"orderType": orderType, **fields})
        if status != 201:
            raise AssertionError(f"order refused with {status}: {body}")
        return str(body["orderId"])

    async def order(self, order_id: str) -> dict[str, Any]:
        assert self.http is not None
        async with self.http.get(f"/api/orders/{order_id}", headers=self._auth()) as resp:
            return dict(await resp.json())

    async def stream(self, order_id: str, after: int = 0) -> AsyncGenerator[dict[str, Any]]:
        """An order's events as they come, over its WebSocket (from `after`), until it ends:
        `async for event in order_engine.stream(order_id)`."""
        assert self.http is not None
        protocols = ("order-engine.v1", *((f"bearer.{self.key}",) if self.key else ()))
        async with self.http.ws_connect(f"/api/orders/status/{order_id}?after={after}",
                                        protocols=protocols) as ws:
            async for message in ws:
                yield message.json()

    async def history(self, order_id: str, after: int = 0) -> list[dict[str, Any]]:
        """Every event of the order until it ends (waiting for the end), as a list."""
        # Closed here, also when cancelled (a timeout): its socket must not outlive the call.
        async with contextlib.aclosing(self.stream(order_id, after)) as events:
            return [event async for event in events]

    async def wait_for_status(self, order_id: str, status: str,
                              limit: float = 10.0) -> dict[str, Any]:
        """The order's first event with this status (from its history, then live): a test
        waits for a condition, not for time. Raises if the order ends without reaching it."""
        return await self.wait_for_event(order_id, lambda event: event["status"] == status,
                                         f"reaching {status!r}", limit)

    async def health(self) -> Health:
        """What /healthz counts (waiting orders, subscribers, in flight), read in process: with
        `wait_until`, e.g. `wait_until(engine.health, lambda h: h.waiting == 2)`."""
        return self.engine.operations.health()

    @staticmethod
    async def wait_until(read: Callable[[], Awaitable[T]], holds: Callable[[T], bool],
                         limit: float = 10.0) -> T:
        """What `read` answers once it `holds`, asked again every 10 ms: for a condition no
        event announces (the engine's health, a balance). Raises after `limit` seconds."""
        async def first() -> T:
            answer = await read()
            while not holds(answer):
                await asyncio.sleep(0.01)  # nothing to wait on: ask again
                answer = await read()
            return answer

        return await asyncio.wait_for(first(), limit)

    async def wait_for_event(self, order_id: str, matches: Callable[[dict[str, Any]], bool],
                             what: str = "the event awaited",
                             limit: float = 10.0) -> dict[str, Any]:
        """The order's first event that `matches` (from its history, then live), e.g.
        `lambda event: "triggeredAt" in event`. Raises if the order ends without one."""
        async def first() -> dict[str, Any]:
            async with contextlib.aclosing(self.stream(order_id)) as events:
                async for event in events:
                    if matches(event):
                        return event
            raise AssertionError(f"{order_id} ended without {what}")

        return await asyncio.wait_for(first(), limit)

    async def wait_terminal(self, order_id: str, limit: float = 10.0) -> dict[str, Any]:
        """The order's terminal event, waiting on its WebSocket stream."""
        events = await asyncio.wait_for(self.history(order_id), limit)
        if not events or events[-1]["status"] not in {s.value for s in TERMINAL}:
            raise AssertionError(f"stream of {order_id} ended without a terminal event: {events}")
        return events[-1]

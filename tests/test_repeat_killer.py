"""An order whose execution takes the whole process down is not retried for ever: the engine
counts, durably, the starts at which it was executing, and after three it fails INTERNAL_ERROR.

The process really dies (SIGKILL) at the same step of the same order three times: a proxy in
front of the cluster kills the engine when the order's transaction is simulated."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio
from aiohttp import web

from engine.testing.process import ClusterProcess, EngineProcess, free_port

SIM = ("--latency-scale", "0", "--failure-rate", "0", "--seed", "3")
ORDER = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.5}


class KillingProxy:
    """JSON-RPC and PubSub passed to the cluster; `simulateTransaction` kills the engine
    instead, while `kills` are left."""

    def __init__(self, target: str) -> None:
        self.target, self.kills = target, 0
        self.engine: EngineProcess | None = None
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._pubsub(request)
        body = await request.read()
        if b'"simulateTransaction"' in body and self.kills and self.engine is not None:
            await self._routing_stored()
            self.kills -= 1
            self.engine.kill()  # SIGKILL, while the order is mid-execution
            raise ConnectionResetError
        async with self._session.post(self.target, data=body,
                                      headers={"Content-Type": "application/json"}) as resp:
            return web.Response(body=await resp.read(), status=resp.status,
                                content_type="application/json")

    async def _routing_stored(self) -> None:
        """Until the order's routing step is on disk. It is written beside the simulation, not
        before it (the steps share a commit), so a kill could come first; the engine counts
        the starts at which an order was executing by its stored status, and this test is
        about an order that kills the process while executing."""
        assert self.engine is not None
        for _ in range(250):
            db = sqlite3.connect(f"file:{self.engine.db}?mode=ro", uri=True)
            try:
                if not db.execute("SELECT 1 FROM orders WHERE status = 'pending'").fetchone():
                    return
            finally:
                db.close()
            await asyncio.sleep(0.02)
        raise AssertionError("the order's routing step was never stored")

    async def _pubsub(self, request: web.Request) -> web.WebSocketResponse:
        assert self._session is not None
        client = web.WebSocketResponse()
        await client.prepare(request)
        async with self._session.ws_connect(self.target.replace("http", "ws", 1)) as upstream:
            async def pump(source: object, sink: object) -> None:
                async for message in source:  # type: ignore[attr-defined]
                    await sink.send_str(message.data)  # type: ignore[attr-defined]
            await asyncio.wait([asyncio.create_task(pump(client, upstream)),
                                asyncio.create_task(pump(upstream, client))],
                               return_when=asyncio.FIRST_COMPLETED)
        return client


@pytest_asyncio.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[ClusterProcess]:
    process = ClusterProcess(tmp_path / "cluster.db", *SIM, "--fund-keypair",
                             str(tmp_path / "wallet.json"))
    await process.start()
    yield process
    await process.terminate()


@pytest_asyncio.fixture
async def proxy(cluster: ClusterProcess) -> AsyncIterator[KillingProxy]:
    proxy = KillingProxy(cluster.url)
    async with aiohttp.ClientSession() as session:
        proxy._session = session
        app = web.Application()
        app.router.add_route("*", "/", proxy.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", proxy.port).start()
        yield proxy
        await runner.cleanup()


async def test_an_order_that_kills_the_process_three_times_ends_internal_error(
        tmp_path: Path, proxy: KillingProxy) -> None:
    db = tmp_path / "e.db"
    args = (*SIM, "--rpc-url", proxy.url, "--keypair", str(tmp_path / "wallet.json"))
    proxy.kills = 3
    starts = 0

    def started() -> EngineProcess:  # each with a log of its own, which a failure shows
        nonlocal starts
        starts += 1
        return EngineProcess(db, *args, log=tmp_path / f"engine-{starts}.log")

    def logs() -> str:
        return "\n".join(f"{p.name}: {p.read_text()[-2000:]}"
                         for p in sorted(tmp_path.glob("engine-*.log")))

    engine = started()
    proxy.engine = engine
    await engine.start()
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{engine.url}/api/orders/execute", json=ORDER) as resp:
            assert resp.status == 201
            order_id = (await resp.json())["orderId"]
        for _ in range(2):  # killed at its simulation; started again, it resumes and dies again
            assert engine.proc is not None
            await asyncio.to_thread(engine.proc.wait, 20)
            engine = started()
            proxy.engine = engine
            with contextlib.suppress(RuntimeError):  # it may die before it answers /healthz
                await engine.start()
        assert engine.proc is not None
        await asyncio.to_thread(engine.proc.wait, 20)
        assert proxy.kills == 0, logs()
        engine = started()
        await engine.start()
        try:
            async with session.get(f"{engine.url}/api/orders/{order_id}") as resp:
                order = await resp.json()
            assert order.get("status") == "failed", (resp.status, order, logs())
            assert order["error"]["code"] == "INTERNAL_ERROR"
            async with session.post(f"{engine.url}/api/orders/execute", json=ORDER) as resp:
                other = (await resp.json())["orderId"]
            for _ in range(200):  # the next order is not held back by it
                async with session.get(f"{engine.url}/api/orders/{other}") as resp:
                    if (await resp.json())["status"] in ("confirmed", "failed"):
                        break
                await asyncio.sleep(0.05)
            assert (await resp.json())["status"] == "confirmed"
        finally:
            await engine.terminate()

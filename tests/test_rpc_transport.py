"""The engine's JSON-RPC transport over HTTP and WebSocket: subscribers that start together
(each venue's reader does) share the node's one PubSub connection, rather than each opening
one that the next overwrites and nobody closes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from engine.clock import SystemClock
from engine.simulator.world import SimWorld
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError, RpcTimeout
from engine.solana_client.client import Http
from engine.testing.cluster import standalone_cluster, wallet_for

PROGRAMS = ("675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8",
            "CPMMoo8L3F4NbTegBCKVNunggL7H1ZpdTHKxQB5qKP1C",
            "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo")


async def test_subscribers_starting_together_share_one_connection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    opened = []
    connect = aiohttp.ClientSession.ws_connect

    def counted(self: aiohttp.ClientSession, *args: Any, **kwargs: Any) -> Any:
        opened.append(args[0] if args else kwargs.get("url"))
        return connect(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "ws_connect", counted)
    world = SimWorld.build(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                           funded=wallet_for(tmp_path / "wallet.json"))
    try:
        async with standalone_cluster(world) as url:
            transport = Http(url)
            numbers = await asyncio.gather(*(
                transport.subscribe("programSubscribe", [program, {"encoding": "base64"}],
                                    lambda params: None) for program in PROGRAMS))
            await transport.close()
        assert len(set(numbers)) == 3 and len(opened) == 1
    finally:
        await world.chain.close()


async def node(handler: Any) -> tuple[web.AppRunner, str]:
    """A JSON-RPC node that answers every POST with `handler`."""
    app = web.Application()
    app.router.add_post("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def dropped(request: web.Request) -> web.Response:
    await request.read()  # the request arrived whole: the node may have carried it out
    assert request.transport is not None
    request.transport.close()
    raise asyncio.CancelledError


async def garbled(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=b"{\"jsonrpc\": \"2.0\", \"res", content_type="application/json")


def status(code: int) -> Any:
    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=code, text="gateway says no")
    return answer


@pytest.mark.parametrize("handler", [dropped, garbled, status(502), status(504)],
                         ids=["dropped", "garbled", "502", "504"])
async def test_a_lost_answer_is_a_timeout_for_a_send_may_have_run(handler: Any) -> None:
    """Connected, and the answer lost: the engine must wait for the transaction's fate
    (RpcTimeout, which a send treats as "may have landed"), not sign another."""
    runner, url = await node(handler)
    transport = Http(url)
    try:
        with pytest.raises(RpcTimeout):
            await transport.request("sendTransaction", ["AAAA", {"encoding": "base64"}])
    finally:
        await transport.close()
        await runner.cleanup()


async def test_a_node_that_cannot_be_reached_or_says_503_ran_nothing() -> None:
    runner, url = await node(status(503))
    transport = Http(url)
    try:
        with pytest.raises(RpcError) as refused:
            await transport.request("sendTransaction", ["AAAA", {"encoding": "base64"}])
        assert not isinstance(refused.value, RpcTimeout)
        assert refused.value.code == codes.NODE_UNHEALTHY
    finally:
        await transport.close()
        await runner.cleanup()
    nowhere = Http(url)  # the node is gone: nothing could have been sent
    try:
        with pytest.raises(RpcError) as refused:
            await nowhere.request("sendTransaction", ["AAAA", {"encoding": "base64"}])
        assert not isinstance(refused.value, RpcTimeout)
        assert refused.value.code == codes.NODE_UNHEALTHY
    finally:
        await nowhere.close()

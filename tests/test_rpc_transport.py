"""The engine's JSON-RPC transport over HTTP and WebSocket: subscribers that start together
(each venue's reader does) share the node's one PubSub connection, rather than each opening
one that the next overwrites and nobody closes; and what a lost answer means."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from fake_servers import serving

from engine.clock import SystemClock
from engine.domain.errors import TransientError
from engine.simulator.genesis import open_world
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError, RpcTimeout
from engine.solana_client.rpc_errors import translate
from engine.solana_client.transports import Http
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
    world = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
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


def node(handler: Any) -> web.Application:
    """A JSON-RPC node that answers every POST with `handler`."""
    app = web.Application()
    app.router.add_post("/", handler)
    return app


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
    async with serving(node(handler)) as url:
        with pytest.raises(RpcTimeout):
            await send(url)


async def test_a_node_that_cannot_be_reached_or_says_503_ran_nothing() -> None:
    async with serving(node(status(503))) as url:
        refusals = [await refused(url)]
    refusals.append(await refused(url))  # the node is gone: nothing could have been sent
    for refusal in refusals:
        assert not isinstance(refusal, RpcTimeout) and refusal.code == codes.NODE_UNHEALTHY


async def send(url: str) -> None:
    transport = Http(url)
    try:
        await transport.request("sendTransaction", ["AAAA", {"encoding": "base64"}])
    finally:
        await transport.close()


async def refused(url: str) -> RpcError:
    with pytest.raises(RpcError) as refusal:
        await send(url)
    return refusal.value


async def test_only_a_send_whose_answer_was_lost_may_have_landed() -> None:
    """What the engine makes of a lost answer: a send's may have landed (wait for its fate);
    a read's did nothing (ask again, sign again), and its code says the node, not a send."""
    async with serving(node(dropped)) as url:
        transport = Http(url)
        try:
            with pytest.raises(RpcTimeout) as sent:
                await transport.request("sendTransaction", ["AAAA", {"encoding": "base64"}])
            with pytest.raises(RpcTimeout) as read:
                await transport.request("getLatestBlockhash", [])
        finally:
            await transport.close()
    landed_maybe, asked = translate(sent.value), translate(read.value)
    assert landed_maybe.code == "SEND_TIMEOUT" and landed_maybe.maybe_landed
    assert asked.code == "NODE_TIMEOUT" and not asked.maybe_landed
    assert isinstance(asked, TransientError) and asked.message.startswith("getLatestBlockhash")


async def test_a_notification_right_behind_its_subscriptions_answer_is_told() -> None:
    """A node may send an account's first change in the same breath as the subscription's
    answer: both arrive together, and the notification must not be dropped for coming before
    the subscriber has seen its number."""
    async def pubsub(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        async for message in socket:
            ident = message.json()["id"]
            together = (
                f'{{"jsonrpc": "2.0", "id": {ident}, "result": 7}}',
                '{"jsonrpc": "2.0", "method": "accountNotification", "params": '
                '{"subscription": 7, "result": {"context": {"slot": 5}, "value": null}}}')
            for text in together:  # written back to back: one read may hold both
                await socket.send_str(text)
        return socket

    app = web.Application()
    app.router.add_get("/", pubsub)
    told: list[dict[str, Any]] = []
    async with serving(app) as url:
        transport = Http(url)
        try:
            number = await transport.subscribe(
                "accountSubscribe", ["11111111111111111111111111111111"], told.append)
            for _ in range(20):
                await asyncio.sleep(0)
        finally:
            await transport.close()
    assert number == 7 and told == [{"subscription": 7, "result": {
        "context": {"slot": 5}, "value": None}}]


async def test_an_ended_subscription_is_forgotten_by_the_node_and_told_no_more(
        tmp_path: Path) -> None:
    world = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                       funded=wallet_for(tmp_path / "wallet.json"))
    told: list[Any] = []
    try:
        async with standalone_cluster(world) as url:
            transport = Http(url)
            try:
                kept, ended = [await transport.subscribe(
                    "programSubscribe", [PROGRAMS[2], {"encoding": "base64"}], told.append)
                    for _ in range(2)]  # Meteora's, twice
                await transport.unsubscribe("programUnsubscribe", ended)
                assert world.rpc.subscriptions == 1
                world.move_price("met-sol-usdc", 1.01)
                async with asyncio.timeout(10):
                    while not told:  # noqa: ASYNC110 - the notification comes over a socket
                        await asyncio.sleep(0.01)
                await transport.unsubscribe("programUnsubscribe", ended)  # again: no harm
            finally:
                await transport.close()
            await transport.unsubscribe("programUnsubscribe", kept)  # closed: nothing to ask
    finally:
        await world.chain.close()
    assert {params["subscription"] for params in told} == {kept}


async def test_a_subscription_whose_connection_closes_unanswered_fails_at_once() -> None:
    """The node's PubSub went away between the request and its answer: the subscriber hears it
    then (and reads the accounts instead), not after the whole timeout."""
    async def hangs_up(request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.receive()  # the subscription request: never answered
        await socket.close()
        return socket

    app = web.Application()
    app.router.add_get("/", hangs_up)
    async with serving(app) as url:
        transport = Http(url, timeout=30)
        try:
            async with asyncio.timeout(5):
                with pytest.raises(RpcError) as refused:
                    await transport.subscribe("accountSubscribe", [PROGRAMS[0]], print)
        finally:
            await transport.close()
    assert refused.value.code == codes.NODE_UNHEALTHY and transport.connection is None

"""The firehose of all orders' events, and subscribers that stop reading."""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from engine.api.heartbeat import ping_all
from engine.testing import EngineHarness

ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.1, "slippage": 0.05}


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def follow_firehose(engine: EngineHarness, events: list[dict[str, Any]], until: int,
                          after: int = 0) -> None:
    assert engine.http is not None
    async with engine.http.ws_connect(f"/api/orders/stream?after={after}") as ws:
        async for message in ws:
            events.append(message.json())
            if len(events) >= until:
                return


async def test_the_firehose_replays_then_streams_every_event_in_gseq_order(
        order_engine: EngineHarness) -> None:
    first = await order_engine.submit(**ORDER)
    await order_engine.wait_terminal(first)
    events: list[dict[str, Any]] = []
    follower = asyncio.create_task(follow_firehose(order_engine, events, until=10))
    second = await order_engine.submit(**ORDER)
    await asyncio.wait_for(follower, 10)
    assert [e["gseq"] for e in events] == list(range(1, 11))
    assert [e["orderId"] for e in events] == [first] * 5 + [second] * 5
    resumed: list[dict[str, Any]] = []
    await follow_firehose(order_engine, resumed, until=3, after=7)
    assert resumed == events[7:10]


async def raw_subscriber(port: int, path: str) -> socket.socket:
    """A client that completes the handshake and then never reads another byte."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    await loop.sock_sendall(sock, (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode())
    assert b" 101 " in await loop.sock_recv(sock, 1024)
    return sock


async def test_a_subscriber_that_stops_reading_is_cut_off_and_hurts_no_one(
        tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", send_timeout=0.5) as engine:
        port = int(engine.url.rsplit(":", 1)[1])
        stalled = await raw_subscriber(port, "/api/orders/stream")
        events: list[dict[str, Any]] = []
        total = 400 * 5
        follower = asyncio.create_task(follow_firehose(engine, events, until=total))
        before = rss_mb()
        ids = await asyncio.gather(*(engine.submit(**ORDER) for _ in range(400)))
        await asyncio.wait_for(follower, 60)
        # The stalled one is dropped once its buffer or its send times out.
        await engine.wait_until(engine.health, lambda now: now.subscribers == 0, limit=5)
        grown = rss_mb() - before
        subscribers_left = engine.engine.operations.health().subscribers
        statuses = {(await engine.order(i))["status"] for i in ids}
        stalled.close()
    assert [e["gseq"] for e in events] == list(range(1, total + 1))  # the reader missed nothing
    assert statuses <= {"confirmed", "failed"}  # the workers were not held up
    assert subscribers_left == 0
    assert grown < 100, f"RSS grew {grown:.0f} MB"


async def test_a_finished_order_stream_is_released_at_once(order_engine: EngineHarness) -> None:
    for _ in range(20):
        await order_engine.wait_terminal(await order_engine.submit(**ORDER))
    await asyncio.sleep(0.05)  # the peers' close replies arrive
    gc.collect()
    alive = [o for o in gc.get_objects() if isinstance(o, web.WebSocketResponse)]
    assert alive == []  # no heartbeat timer is left holding a closed socket and its request


async def test_each_streamed_event_is_byte_for_byte_the_stored_one(
        order_engine: EngineHarness) -> None:
    order_id = await order_engine.submit(**ORDER)
    assert order_engine.http is not None
    async with order_engine.http.ws_connect(f"/api/orders/status/{order_id}") as ws:
        live = [message.data.encode() async for message in ws]
    stored = await order_engine.engine.orders.events(order_id)
    assert live == [event.body for event in stored] and len(live) == 5
    db = sqlite3.connect(order_engine.settings.db)
    rows = db.execute("SELECT body FROM events WHERE order_id=? ORDER BY seq", (order_id,))
    assert [bytes(body) for (body,) in rows] == live
    db.close()


async def test_a_peer_that_does_not_answer_pings_is_dropped_and_one_that_does_stays(
        order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    silent = await order_engine.http.ws_connect("/api/orders/stream", autoping=False)
    lively = await order_engine.http.ws_connect("/api/orders/stream")
    lively_reader = asyncio.create_task(lively.receive())  # answers pings while it waits
    await ping_all(order_engine.engine_app)
    assert (await silent.receive()).type is WSMsgType.PING  # not answered
    await asyncio.sleep(0.05)
    await ping_all(order_engine.engine_app)  # the silent one missed its ping: dropped
    closing = await asyncio.wait_for(silent.receive(), 2)
    assert (closing.type, closing.data) == (WSMsgType.CLOSE, 1001)
    assert not lively.closed and not lively_reader.done()
    lively_reader.cancel()
    await asyncio.gather(silent.close(), lively.close())

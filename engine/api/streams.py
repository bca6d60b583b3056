"""WebSocket streams: an order's full history from `pending`, then live events, then close."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import weakref
from collections import deque

from aiohttp import WSCloseCode, WSMsgType, web
from loguru import logger

from engine.api.errors import ApiError
from engine.api.keys import ENGINE, SOCKETS
from engine.api.orders import decode_body
from engine.domain.errors import EngineError, OrderNotFound
from engine.hub import Delivery, DirectSink, Subscription, framed
from engine.usecases import Engine

HEARTBEAT_SECONDS = 20.0  # server pings; a peer silent for half of this after a ping is dropped
FIRST_MESSAGE_SECONDS = 10.0
FEED_PAGE = 500
KERNEL_SEND_BUFFER = 64 * 1024
DIRECT_BUFFER_LIMIT = 256 * 1024  # bytes queued for a firehose reader before it counts as slow
MAX_MESSAGE_BYTES = 16 * 1024
CLOSE_NOT_FOUND = 4404
CLOSE_INVALID_ORDER = 4400
CLOSE_SLOW_CONSUMER = 4008


class _WebSocket(web.WebSocketResponse):
    """aiohttp (3.14) re-arms the heartbeat when the peer's close reply arrives after our close;
    that timer then holds the closed socket, its request and buffers for a whole heartbeat
    period (about 7 KB per order for 20 s: 70 MB at 500 orders/s). A closed socket needs none."""

    def _reset_heartbeat(self) -> None:
        if not self.closed:
            super()._reset_heartbeat()


def _socket(request: web.Request) -> web.WebSocketResponse:
    ws = _WebSocket(heartbeat=HEARTBEAT_SECONDS, max_msg_size=MAX_MESSAGE_BYTES)
    request.app[SOCKETS].add(ws)
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None:
        # The kernel would otherwise buffer megabytes per silent subscriber; keep it small so
        # backpressure reaches us and a reader that stopped is noticed (and memory stays bounded).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SEND_BUFFER)
    return ws


async def close_all(app: web.Application) -> None:
    """On shutdown, tell every subscriber we are going away (1001) instead of vanishing."""
    sockets: weakref.WeakSet[web.WebSocketResponse] = app[SOCKETS]
    if ENGINE in app:
        app[ENGINE].release_streams()
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")


async def status(request: web.Request) -> web.StreamResponse:
    """GET /api/orders/status/{order_id}[?after=N] as a WebSocket."""
    engine = request.app[ENGINE]
    order_id = request.match_info["order_id"]
    after = _after(request)
    ws = _socket(request)
    await ws.prepare(request)
    # Subscribe before reading history, so nothing committed in between is missed; seq dedupes.
    sub = engine.subscribe(order_id)
    history = await engine.events(order_id, after)
    if not history and not await _exists(engine, order_id):  # every order has an event
        engine.unsubscribe(sub)
        await ws.close(code=CLOSE_NOT_FOUND, message=b"order not found")
        return ws
    backlog = deque(map(framed, history))
    del history  # sent once, then gone: idle subscribers hold no copy of it
    await _pump(ws, engine, sub, after, backlog, request.transport)
    return ws


async def execute(request: web.Request) -> web.StreamResponse:
    """The same-endpoint upgrade: the first message is the order, then its whole lifecycle."""
    ws = _socket(request)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "UPGRADE_REQUIRED",
                       "POST an order here, or open a WebSocket and send it as the first message")
    await ws.prepare(request)
    try:
        message = await ws.receive(timeout=FIRST_MESSAGE_SECONDS)
    except TimeoutError:
        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"no order within 10 s")
        return ws
    if message.type is not WSMsgType.TEXT:
        if message.type in (WSMsgType.BINARY,):
            await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"send the order as JSON text")
        return ws
    engine = request.app[ENGINE]
    try:
        order_id = (await engine.submit(decode_body(message.data))).order_id
    except (ApiError, EngineError) as error:
        refusal = error if isinstance(error, ApiError) else ApiError.refusal(error)
        await ws.send_json({"error": {"code": refusal.code, "message": refusal.message,
                                      **({"field": refusal.field} if refusal.field else {})}})
        await ws.close(code=CLOSE_INVALID_ORDER, message=refusal.code.encode())
        return ws
    sub = engine.subscribe(order_id)
    backlog = deque(map(framed, await engine.events(order_id)))
    await _pump(ws, engine, sub, 0, backlog, request.transport)
    return ws


async def firehose(request: web.Request) -> web.StreamResponse:
    """GET /api/orders/stream[?after=G]: every order's events in `gseq` order, resumable."""
    engine = request.app[ENGINE]
    after = _after(request)
    ws = _socket(request)
    await ws.prepare(request)
    forward = asyncio.current_task()
    assert forward is not None
    reader = asyncio.create_task(_read_until_closed(ws, forward))
    sub = engine.subscribe(None)
    try:
        last = after
        while True:  # replay in pages until caught up with the live feed
            page = await engine.feed(last, FEED_PAGE)
            for event in page:
                if not await _send(ws, event.to_json(), last, engine.send_timeout, "gseq"):
                    return ws
                last = event.gseq
            if len(page) < FEED_PAGE:
                break
        while True:
            while sub.pending:  # what arrived during the replay
                event, frame = sub.pending.popleft()
                if event.gseq > last + 1:  # never skip: fetch what lies between
                    for missed in await engine.feed(last, event.gseq - last - 1):
                        if not await _send(ws, missed.to_json(), last, engine.send_timeout,
                                           "gseq"):
                            return ws
                        last = missed.gseq
                if event.gseq <= last:
                    continue
                if not await _send(ws, frame, last, engine.send_timeout, "gseq"):
                    return ws
                last = event.gseq
            if sub.lagging or request.transport is None:
                await _close_slow(ws, last, "gseq")
                return ws
            # Caught up: from here `publish` writes to this reader's transport itself.
            sink = DirectSink(request.transport, last, DIRECT_BUFFER_LIMIT)
            sub.attach(sink)
            await sub.detached()
            last = sink.last
            if request.transport.get_write_buffer_size() > DIRECT_BUFFER_LIMIT:
                await _close_slow(ws, last, "gseq")
                return ws
            for missed in await engine.feed(last, FEED_PAGE):  # a gap: catch up, go on
                if not await _send(ws, missed.to_json(), last, engine.send_timeout, "gseq"):
                    return ws
                last = missed.gseq
    except (asyncio.CancelledError, ConnectionResetError):
        if not reader.done():
            raise
    finally:
        sub.sink = None
        engine.unsubscribe(sub)
        reader.cancel()
    return ws


async def _exists(engine: Engine, order_id: str) -> bool:
    try:
        await engine.get(order_id)
    except OrderNotFound:
        return False
    return True


def _after(request: web.Request) -> int:
    text = request.query.get("after", "0")
    if not text.isdigit() or len(text) > 12:
        raise ApiError(400, "INVALID_AFTER", "after must be a non-negative integer seq", "after")
    return int(text)


async def _pump(ws: web.WebSocketResponse, engine: Engine, sub: Subscription, after: int,
                backlog: deque[Delivery], transport: asyncio.Transport | None) -> None:
    """Forward events until the terminal one; a reader task notices when the client leaves."""
    forward = asyncio.current_task()
    assert forward is not None
    reader = asyncio.create_task(_read_until_closed(ws, forward))
    try:
        await _forward(ws, engine, sub, after, backlog, transport)
    except asyncio.CancelledError:
        if not reader.done():
            raise
    except ConnectionResetError:
        logger.debug("subscriber of {} went away", sub.order_id)
    finally:
        sub.sink = None
        engine.unsubscribe(sub)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _forward(ws: web.WebSocketResponse, engine: Engine, sub: Subscription, last: int,
                   backlog: deque[Delivery], transport: asyncio.Transport | None) -> None:
    """Send the backlog, then hand the caught-up subscriber to `publish` until it is handed
    back; refill from the store after a gap."""
    while True:
        backlog.extend(sub.pending)
        sub.pending.clear()
        if sub.lagging:
            await _close_slow(ws, last, "seq")
            return
        if backlog:
            sent = await _send_backlog(ws, engine, sub.order_id, last, backlog)
            if sent is None:
                return
            last = sent
            continue
        if transport is None or transport.is_closing():
            return
        # Caught up: from here `publish` writes to this subscriber's transport itself.
        sink = DirectSink(transport, last, DIRECT_BUFFER_LIMIT, per_order=True)
        sub.attach(sink)
        await sub.detached()
        last = sink.last
        if sink.finished:
            await ws.close()
            return
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() > DIRECT_BUFFER_LIMIT:
            await _close_slow(ws, last, "seq")
            return
        backlog.extend(map(framed, await engine.events(sub.order_id, last)))


async def _send_backlog(ws: web.WebSocketResponse, engine: Engine, order_id: str, last: int,
                        backlog: deque[Delivery]) -> int | None:
    """Send what is queued in seq order, never skipping; the last seq sent, or None once the
    stream has ended (its terminal event sent, or its reader cut off)."""
    while backlog:
        event, frame = backlog.popleft()
        if event.seq <= last:
            continue
        if event.seq > last + 1:  # never skip: fetch what lies between from the store
            missed = await engine.events(order_id, last)
            backlog.appendleft((event, frame))
            backlog.extendleft(reversed([*map(framed, missed)]))
            continue
        if not await _send(ws, frame, last, engine.send_timeout):
            return None
        last = event.seq
        if event.status.terminal:
            await ws.close()
            return None
    return last


async def _send(ws: web.WebSocketResponse, frame: bytes, last: int, limit: float,
                key: str = "seq") -> bool:
    """Send one text frame (already UTF-8); a reader that stopped is cut off, not waited on."""
    try:
        async with asyncio.timeout(limit):  # no extra task per frame, unlike wait_for
            await ws.send_frame(frame, WSMsgType.TEXT)
        return True
    except TimeoutError:
        await _close_slow(ws, last, key)
        return False


async def _close_slow(ws: web.WebSocketResponse, last: int, key: str) -> None:
    """Close a reader that fell behind, saying where to resume; it is not waited on for long."""
    reason = f"slow consumer, resume with after={last} ({key})".encode()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(1.0):
            await ws.close(code=CLOSE_SLOW_CONSUMER, message=reason)


async def _read_until_closed(ws: web.WebSocketResponse, forward: asyncio.Task[object]) -> None:
    """Consume client frames (pongs, closes); binary or oversized frames end the stream."""
    async for message in ws:
        if message.type is WSMsgType.BINARY:
            await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"this stream is read-only")
            break
    if not forward.done():
        forward.cancel()

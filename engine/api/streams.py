"""WebSocket streams: an order's full history from `pending` then live events, or the firehose.

One loop (`_follow`) serves both: send what the store has after the client's position, then what
arrived live (a gap sends it back to the store), then hand the caught-up subscriber to the hub as
a `SocketSink` until the hub hands it back.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import WSCloseCode, WSMsgType, web
from loguru import logger

from engine.api import params
from engine.api.app_keys import ENGINE, SEND_TIMEOUT
from engine.api.auth import PROTOCOL, caller_of, needed_scope
from engine.api.errors import UPGRADED
from engine.api.heartbeat import PONGS
from engine.api.sinks import Position, SocketSink, gseq, seq
from engine.api.sockets import SOCKETS
from engine.domain.access import Caller, Scope
from engine.domain.errors import OrderNotFound
from engine.domain.events import StoredEvent
from engine.publishing.hub import Subscription
from engine.usecases import Orders

CLOSE_TIMEOUT = 2.0  # seconds a peer gets to answer our close frame
FEED_PAGE = 500
KERNEL_SEND_BUFFER = 64 * 1024
DIRECT_BUFFER_LIMIT = 256 * 1024  # bytes queued for a direct reader before it counts as slow
MAX_MESSAGE_BYTES = 16 * 1024
CLOSE_NOT_FOUND = 4404
CLOSE_SLOW_CONSUMER = 4008
CLOSE_BEYOND_END = 4416  # as HTTP's 416: `after` names a position the stream never reached


@dataclass(frozen=True, slots=True)
class Stream:
    """One kind of stream: how events are numbered, where missed ones are read, when it ends."""

    position: Position
    fetch: Callable[[int], Awaitable[list[StoredEvent]]]  # the stored events after a position
    ends_with_order: bool
    key: str  # the name of the position, for the slow-consumer close reason
    owner: str | None = None  # the firehose of one key's orders; None: every order

    @classmethod
    def of_order(cls, orders: Orders, order_id: str) -> Stream:
        return cls(seq, lambda after: orders.events(order_id, after), True, "seq")

    @classmethod
    def firehose(cls, orders: Orders, owner: str | None) -> Stream:
        return cls(gseq, lambda after: orders.feed(after, FEED_PAGE), False, "gseq", owner)

    def shows(self, event: StoredEvent) -> bool:
        """Others' events still move a filtered firehose's position, so gaps stay detectable."""
        return self.owner is None or event.owner == self.owner


def open_socket(request: web.Request) -> web.WebSocketResponse:
    """A WebSocket registered with who opened it (closed if its key is revoked)."""
    # The heartbeat is ours (`heartbeat.py`), on public calls only: aiohttp's own timer held
    # closed sockets alive for a whole period (7 KB each for 20 s on aiohttp 3.14).
    ws = web.WebSocketResponse(autoping=False, max_msg_size=MAX_MESSAGE_BYTES,
                               timeout=CLOSE_TIMEOUT, protocols=(PROTOCOL,))
    request.app[SOCKETS].add(ws, caller_of(request), needed_scope(request) or Scope.READ)
    sock = request.transport.get_extra_info("socket") if request.transport else None
    if sock is not None:
        # The kernel would otherwise buffer megabytes per silent subscriber; keep it small so
        # backpressure reaches us and a reader that stopped is noticed (and memory stays bounded).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, KERNEL_SEND_BUFFER)
    return ws


async def upgrade(request: web.Request, ws: web.WebSocketResponse) -> None:
    """Answer the handshake; from here an error closes the socket with a code (see
    `error_middleware`) instead of writing an HTTP answer into it."""
    await ws.prepare(request)
    request[UPGRADED] = ws


async def close_all(app: web.Application) -> None:
    """On shutdown, tell every subscriber we are going away (1001) instead of vanishing."""
    sockets = app[SOCKETS]
    if ENGINE in app:
        app[ENGINE].operations.release_streams()
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")


async def status(request: web.Request) -> web.StreamResponse:
    """GET /api/orders/status/{order_id}[?after=N] as a WebSocket."""
    orders = request.app[ENGINE].orders
    order_id = request.match_info["order_id"]
    after = _after(request)
    ws = open_socket(request)
    await upgrade(request, ws)
    # Subscribe before reading history, so nothing committed in between is missed; seq dedupes.
    caller = caller_of(request)
    sub = orders.subscribe(order_id)
    try:
        history = await orders.events(order_id, after)
        closing = await _closing(orders, order_id, after, caller, history)
    except BaseException:  # the store away, say: the socket is closed by the error middleware
        orders.unsubscribe(sub)
        raise
    if closing is not None:
        orders.unsubscribe(sub)
        await ws.close(code=closing[0], message=closing[1])
        return ws
    await serve(request, ws, sub, Stream.of_order(orders, order_id), after, history)
    return ws


async def firehose(request: web.Request) -> web.StreamResponse:
    """GET /api/orders/stream[?after=G]: every order's events in `gseq` order, resumable."""
    orders = request.app[ENGINE].orders
    after = _after(request)
    ws = open_socket(request)
    await upgrade(request, ws)
    sub = orders.subscribe(None)
    stream = Stream.firehose(orders, caller_of(request).owner_filter)
    try:
        history = await stream.fetch(after)
        end = await orders.feed_end() if not history and after else 0  # 0: no read
    except BaseException:  # the store away, say: the socket is closed by the error middleware
        orders.unsubscribe(sub)
        raise
    if not history and after and after > end:
        # Positions from another database (this one was started over): nothing would come
        # until the feed passed them, so say so instead of staying silent.
        orders.unsubscribe(sub)
        await ws.close(code=CLOSE_BEYOND_END, message=f"after={after} is beyond the feed's "
                       f"end (gseq {end})".encode())
        return ws
    await serve(request, ws, sub, stream, after, history)
    return ws


async def _closing(orders: Orders, order_id: str, after: int, caller: Caller,
                   history: list[StoredEvent]) -> tuple[int, bytes] | None:
    """Why an order's stream closes as it opens, or None. An order the caller may not see does
    not exist (every order has an event); a position the order never reached is refused (state
    from another database: nothing would ever come); a finished order read to its end is
    complete. (Events committed since `history` was read are in the subscription.)"""
    if history:
        return None if caller.sees(history[0].owner) else (CLOSE_NOT_FOUND, b"order not found")
    try:
        order = await orders.get(order_id, caller)
    except OrderNotFound:
        return CLOSE_NOT_FOUND, b"order not found"
    if after > order.seq:
        return CLOSE_BEYOND_END, f"after={after} is beyond the order's last event (seq " \
                                 f"{order.seq})".encode()
    return (WSCloseCode.OK, b"") if order.status.terminal and after == order.seq else None


def _after(request: web.Request) -> int:
    return params.integer(request.query, "after", 0, 0, 10**12 - 1, "INVALID_AFTER")


async def serve(request: web.Request, ws: web.WebSocketResponse, sub: Subscription,
                 stream: Stream, after: int, history: list[StoredEvent]) -> None:
    """Follow the stream until it ends; a reader task notices when the client leaves."""
    orders = request.app[ENGINE].orders
    request.app[SOCKETS].following(ws, sub)
    forward = asyncio.current_task()
    assert forward is not None
    reader = asyncio.create_task(_read_until_closed(request.app, ws, forward))
    try:
        await _follow(ws, sub, stream, after, deque(history), request.transport,
                      request.app[SEND_TIMEOUT])
    except asyncio.CancelledError:
        if not reader.done():
            raise
    except ConnectionResetError:
        logger.debug("subscriber of {} went away", sub.order_id)
    finally:
        orders.unsubscribe(sub)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def _follow(ws: web.WebSocketResponse, sub: Subscription, stream: Stream, last: int,
                  backlog: deque[StoredEvent], transport: asyncio.Transport | None,
                  send_timeout: float) -> None:
    """Send in order, never skipping: the stored backlog, then live events; a gap in the live
    queue is filled from the store, which holds everything that was ever published."""
    more = len(backlog) >= FEED_PAGE  # a full page from the store: there may be more
    while True:
        while backlog or sub.pending or more:
            if not backlog and more:
                backlog.extend(await stream.fetch(last))
                more = len(backlog) >= FEED_PAGE
                continue
            source = backlog if backlog else sub.pending
            event = source[0]
            position = stream.position(event)
            if position > last + 1:  # missed while in flight: read them from the store
                missed = await stream.fetch(last)
                if missed and stream.position(missed[0]) == last + 1:
                    backlog.extendleft(reversed(missed))
                    continue
                # Cannot happen: an event is published only once it is stored.
                logger.error("{} gap after {} that the store cannot fill", stream.key, last)
            source.popleft()
            if position <= last:
                continue
            if not stream.shows(event):
                last = position
                continue
            if not await _send(ws, event.body, last, send_timeout, stream.key):
                return
            last = position
            if stream.ends_with_order and event.status.terminal:
                await ws.close()
                return
        if sub.lagging:
            await _close_slow(ws, last, stream.key)
            return
        if transport is None or transport.is_closing():
            return
        # Caught up: from here the hub writes to this subscriber's transport itself.
        sink = SocketSink(transport, last, DIRECT_BUFFER_LIMIT, stream.position,
                          stream.ends_with_order, stream.owner)
        sub.attach(sink)
        await sub.detached()
        last = sink.last
        if sink.finished:
            await ws.close()
            return
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() > DIRECT_BUFFER_LIMIT:
            await _close_slow(ws, last, stream.key)
            return
        more = True  # handed back after a gap: catch up from the store


async def _send(ws: web.WebSocketResponse, frame: bytes, last: int, limit: float,
                key: str) -> bool:
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


async def _read_until_closed(app: web.Application, ws: web.WebSocketResponse,
                             forward: asyncio.Task[None]) -> None:
    """Consume client frames: answer pings, note pongs; binary or oversized frames end it."""
    pongs = app.get(PONGS)
    async for message in ws:
        if message.type is WSMsgType.PING:
            await ws.pong(message.data)
        elif message.type is WSMsgType.PONG:
            if pongs is not None:
                pongs[ws] = True
        elif message.type is WSMsgType.BINARY:
            await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"this stream is read-only")
            break
    if not forward.done():
        forward.cancel()

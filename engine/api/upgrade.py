"""The same-endpoint upgrade: a WebSocket on /api/orders/execute whose first message is the
order, and which then carries that order's whole lifecycle, as its status stream does."""

from __future__ import annotations

import asyncio

from aiohttp import WSCloseCode, WSMessage, WSMsgType, web

from engine.api.app_keys import ENGINE
from engine.api.auth import caller_of
from engine.api.errors import ApiError
from engine.api.orders import decode_body
from engine.api.streams import Stream, open_socket, serve, upgrade
from engine.domain.errors import EngineError

FIRST_MESSAGE_SECONDS = 10.0
CLOSE_INVALID_ORDER = 4400


async def execute(request: web.Request) -> web.StreamResponse:
    """The same-endpoint upgrade: the first message is the order, then its whole lifecycle."""
    ws = open_socket(request)
    if not ws.can_prepare(request).ok:
        raise ApiError(400, "UPGRADE_REQUIRED",
                       "POST an order here, or open a WebSocket and send it as the first message")
    await upgrade(request, ws)
    message = await _first_message(ws)
    if message is None:
        return ws
    orders = request.app[ENGINE].orders
    try:
        order_id = (await orders.submit(decode_body(message.data), None,
                                        caller_of(request))).order_id
    except (ApiError, EngineError) as error:
        refusal = error if isinstance(error, ApiError) else ApiError.refusal(error)
        await ws.send_json({"error": {"code": refusal.code, "message": refusal.message,
                                      **({"field": refusal.field} if refusal.field else {})}})
        await ws.close(code=CLOSE_INVALID_ORDER, message=refusal.code.encode())
        return ws
    sub = orders.subscribe(order_id)
    await serve(request, ws, sub, Stream.of_order(orders, order_id), 0,
                await orders.events(order_id))
    return ws


async def _first_message(ws: web.WebSocketResponse) -> WSMessage | None:
    """The order, as the first text message within 10 s; None once the socket is closed."""
    try:
        async with asyncio.timeout(FIRST_MESSAGE_SECONDS):
            while True:
                message = await ws.receive()
                if message.type is WSMsgType.PING:
                    await ws.pong(message.data)
                elif message.type is not WSMsgType.PONG:
                    break
    except TimeoutError:
        await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"no order within 10 s")
        return None
    if message.type is WSMsgType.TEXT:
        return message
    if message.type is WSMsgType.BINARY:
        await ws.close(code=WSCloseCode.UNSUPPORTED_DATA, message=b"send the order as JSON text")
    return None

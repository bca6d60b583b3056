"""WebSocket heartbeats on public aiohttp calls: one task pings every open socket each period,
and a peer that did not answer the previous ping is closed."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator

from aiohttp import WSCloseCode, web
from loguru import logger

from engine.api.sockets import SOCKETS
from engine.logs import said_if_failed

HEARTBEAT_SECONDS = 20.0  # the server pings every peer; one silent until the next ping is dropped
# Per open socket: whether it answered since the last ping (the streams' readers record pongs).
PONGS = web.AppKey("pongs", weakref.WeakKeyDictionary[web.WebSocketResponse, bool])


async def heartbeat(app: web.Application) -> AsyncIterator[None]:
    """The heartbeat task, for `cleanup_ctx`: started with the app, cancelled at shutdown."""
    app[PONGS] = weakref.WeakKeyDictionary()

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await ping_all(app)

    task = asyncio.create_task(beat(), name="websocket-heartbeat")
    task.add_done_callback(said_if_failed)
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def ping_all(app: web.Application) -> None:
    pongs = app[PONGS]
    sockets = app[SOCKETS]
    silent: list[web.WebSocketResponse] = []
    for ws in list(sockets):
        if ws.closed:
            continue
        if pongs.get(ws) is False:  # pinged last period, never answered
            silent.append(ws)
            continue
        pongs[ws] = False
        with contextlib.suppress(ConnectionError):
            await ws.ping()
    if silent:
        logger.debug("dropping {} WebSocket peers that did not answer a ping", len(silent))
    await asyncio.gather(*(ws.close(code=WSCloseCode.GOING_AWAY, message=b"no pong")
                           for ws in silent), return_exceptions=True)

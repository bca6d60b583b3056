"""The open WebSockets, each with who opened it and what it needs, so that a key revoked (or
its scope lowered) while its sockets are open closes them, with a code a client can act on."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

from aiohttp import web
from loguru import logger

from engine.api.app_keys import ENGINE
from engine.domain.access import Caller, Scope
from engine.logs import said_if_failed
from engine.publishing.hub import Subscription
from engine.usecases import Access

CLOSE_KEY_REVOKED = 4401  # as HTTP's 401: authenticate again, with a valid key
CLOSE_SCOPE_LOWERED = 4403  # as HTTP's 403: this key may no longer do this


@dataclass(eq=False, slots=True)
class Held:
    caller: Caller
    needs: Scope
    subscription: Subscription | None = None  # once the stream follows one


class Sockets:
    def __init__(self) -> None:
        self._open: weakref.WeakKeyDictionary[web.WebSocketResponse, Held] = \
            weakref.WeakKeyDictionary()

    def __len__(self) -> int:
        return len(self._open)

    def __iter__(self) -> Iterator[web.WebSocketResponse]:
        return iter(list(self._open))

    def add(self, ws: web.WebSocketResponse, caller: Caller, needs: Scope) -> Held:
        held = self._open[ws] = Held(caller, needs)
        return held

    def following(self, ws: web.WebSocketResponse, subscription: Subscription) -> None:
        held = self._open.get(ws)
        if held is not None:
            held.subscription = subscription

    def no_longer_allowed(self, access: Access) -> list[tuple[web.WebSocketResponse, int, str]]:
        """The sockets whose caller may no longer hold them: each with its close code and why."""
        refused = []
        for ws, held in list(self._open.items()):
            name = held.caller.name
            if ws.closed:
                continue
            if name is None:
                if access.keys_required:  # keys exist now: a keyless socket is one no more
                    refused.append((ws, CLOSE_KEY_REVOKED, "an API key is now required"))
                continue
            scope = access.scope_of(name)
            if scope is None:
                refused.append((ws, CLOSE_KEY_REVOKED, "key revoked"))
            elif not scope.allows(held.needs):
                refused.append((ws, CLOSE_SCOPE_LOWERED, f"key scope lowered to {scope}"))
        return refused

    async def close(self, ws: web.WebSocketResponse, code: int, reason: str) -> None:
        held = self._open.pop(ws, None)
        sub = held.subscription if held is not None else None
        if sub is not None and sub.sink is not None:  # nothing written after the close frame
            sub.sink.flush()
            sub.detach()
        with contextlib.suppress(ConnectionError, TimeoutError):
            await ws.close(code=code, message=reason.encode())


async def enforce_keys(app: web.Application, access: Access, sockets: Sockets) -> None:
    """Close, at every change of the keys, the sockets their keys no longer allow (a task)."""
    while True:
        await access.keys_changed()
        refused = sockets.no_longer_allowed(access)
        if refused:
            logger.info("closing {} WebSockets whose key was revoked or lowered", len(refused))
        await asyncio.gather(*(sockets.close(ws, code, why) for ws, code, why in refused),
                             return_exceptions=True)


async def key_enforcement(app: web.Application) -> AsyncIterator[None]:
    """`enforce_keys` for the app's lifetime (a `cleanup_ctx`, after the engine's)."""
    task = asyncio.create_task(enforce_keys(app, app[ENGINE].access, app[SOCKETS]), name="key-sockets")
    task.add_done_callback(said_if_failed)
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


SOCKETS = web.AppKey("sockets", Sockets)

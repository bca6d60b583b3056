"""A stream's events across the engine's restarts: a command following an order is not ended
by a restart (SIGTERM closes every stream with "going away") or a dropped connection."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from aiohttp import WSCloseCode, WSMsgType

PATIENCE = 60.0  # seconds a command waits for an engine that went away to come back
RETRY_EVERY = 0.5  # seconds between tries to connect again
SLOW_CONSUMER = 4008  # the engine cut this reader off for falling behind: it may read again
BEYOND_END = 4416  # the position read to is beyond the engine's: not the same database
# What may end by itself: a restart, a dropped connection, a reader that fell behind. Any
# other close (an unknown order, a revoked key) is the engine's answer, not an accident.
# Closes to read on from: a restart, a dropped connection, a slow reader, a store away for now.
PASSING = {WSCloseCode.GOING_AWAY, WSCloseCode.ABNORMAL_CLOSURE, SLOW_CONSUMER,
           WSCloseCode.TRY_AGAIN_LATER, None}
BUSY = {429, 502, 503, 504}  # a handshake refused for now (too many streams, a proxy's wait)


class StreamEnded(Exception):
    """The engine closed the stream for good, or did not come back in time."""


async def events(session: aiohttp.ClientSession, path: str, position: Callable[[Any], int],
                 query: Callable[[int], dict[str, str]],
                 patience: float = PATIENCE) -> AsyncIterator[Any]:
    """Each event of the stream at `path` once, in order, until the engine closes it normally.

    After a restart or a dropped connection it connects again (for up to `patience` seconds)
    with `query(last position seen)`; events replayed from before are skipped by `position`."""
    last, away_since = 0, None
    while True:
        code, reason, trouble = None, "", "the engine went away"
        try:
            async with session.ws_connect(path, params=query(last)) as ws:
                if away_since is not None:
                    print("reconnected", file=sys.stderr, flush=True)
                    away_since = None
                while (message := await ws.receive()).type is WSMsgType.TEXT:
                    event = message.json()
                    if position(event) > last:
                        last = position(event)
                        yield event
                if message.type is WSMsgType.CLOSE:
                    reason = str(message.extra or "")
                code = ws.close_code
        except aiohttp.WSServerHandshakeError as refused:
            if refused.status not in BUSY:
                raise StreamEnded(f"the engine refused the stream ({refused.status}: "
                                  f"{refused.message})") from None
            trouble, reason = "the engine refused the stream", f"{refused.status}"
        except (TimeoutError, aiohttp.ClientConnectionError) as error:
            if last == 0 and away_since is None:
                raise  # never reached it: there is no engine to wait for
            reason = str(error)
        if code == WSCloseCode.OK:
            return
        if code == BEYOND_END:  # read on across a restart, onto a database started over
            raise StreamEnded(f"the engine no longer has what this stream read ({reason}): its "
                              "database was started over")
        if code not in PASSING:
            raise StreamEnded(f"the engine closed the stream ({code}{': ' if reason else ''}"
                              f"{reason})")
        now = time.monotonic()
        if away_since is None:
            away_since = now
            print(f"{trouble} ({reason or code}); reconnecting for up to {patience:g} s",
                  file=sys.stderr, flush=True)
        elif now - away_since > patience:
            raise StreamEnded(f"the engine did not come back within {patience:g} s")
        await asyncio.sleep(RETRY_EVERY)


def order_events(session: aiohttp.ClientSession, order_id: str,
                 patience: float = PATIENCE) -> AsyncIterator[Any]:
    """An order's events once each, to its terminal one, across restarts of the engine."""
    return events(session, f"/api/orders/status/{order_id}", lambda e: int(e["seq"]),
                  lambda last: {"after": str(last)}, patience)

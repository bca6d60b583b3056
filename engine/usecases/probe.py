"""A question /healthz asks of something outside the process (the store, the node), answered
within a second however that thing behaves (down, refusing, or hung), and asked at most once a
second however often /healthz is: it needs no key, and each read of a paid node counts against
the engine's own rate limit there."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

PROBE_SECONDS = 1.0


class Probe:
    """One read at a time, never cancelled, its answer kept for `seconds` of real time (`now`:
    what a request's rate is counted in, not the engine's clock, which a test may hold still).
    A read of something that stopped answering cannot always be cancelled (asyncpg waits on a
    frozen database whatever its caller does), so a late read is waited for by the next
    question instead of being abandoned, and the answer comes within `seconds` regardless.
    `what` says what a failure means ("the store cannot be read"); the read's error, why."""

    def __init__(self, read: Callable[[], Awaitable[object]], what: str,
                 now: Callable[[], float] = time.monotonic,
                 seconds: float = PROBE_SECONDS) -> None:
        self._read, self._what, self._now, self._seconds = read, what, now, seconds
        self._pending: asyncio.Future[object] | None = None
        self._answer: tuple[float, str | None] | None = None  # when the last read ended, what

    async def problem(self) -> str | None:
        """None when the read succeeded; otherwise what failed, and why."""
        if self._answer is not None and self._now() - self._answer[0] < self._seconds:
            return self._answer[1]
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._read())
            # Its error is read below, or, by a read nobody asks about again, here.
            self._pending.add_done_callback(lambda read: read.cancelled() or read.exception())
        done, _ = await asyncio.wait({self._pending}, timeout=self._seconds)
        if not done:
            return f"{self._what} (no answer within {self._seconds:g} s)"
        read, self._pending = self._pending, None
        error = read.exception()
        self._answer = (self._now(), None if error is None else f"{self._what} ({error})")
        return self._answer[1]

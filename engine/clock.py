"""The real clock; tests and the harness use engine.testing.ManualClock instead."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        # sleep(0) still yields, so zero-latency runs stay fair between coroutines.
        await asyncio.sleep(max(seconds, 0.0))

"""The cluster's slots: from its clock (400 ms × the latency scale) or, with no time passing, a
block for each turn of the event loop in which something landed, plus those a cheatcode skipped
or a client's wait made; and a cheatcode's pause."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine.ports import Clock

SLOT_SECONDS = 0.4


class Slots:
    def __init__(self, clock: Clock, latency_scale: float) -> None:
        self._clock, self._scale = clock, latency_scale
        self.genesis = clock.now()
        self.skipped = 0  # blocks fast-forwarded (a cheatcode, a client's wait with no time)
        # With no time passing a block is what lands in one turn of the event loop: what is
        # sent together shares a slot, as on a real cluster, and the market's other traders
        # trade once a block, not once a transaction.
        self.blocks = 0
        self._paused: int | None = None  # the slot the clock stands at, while paused
        self._in_block = False

    @property
    def height(self) -> int:
        return self._paused if self._paused is not None else self._running()

    @property
    def no_time(self) -> bool:
        """Whether no time passes (latency scale 0): then blocks are counted, not timed."""
        return self._scale <= 0

    def _running(self) -> int:
        if self._scale > 0:
            elapsed = (self._clock.now() - self.genesis).total_seconds()
            return int(elapsed / (SLOT_SECONDS * self._scale)) + self.skipped
        return self.blocks + self.skipped

    def travel_to(self, height: int) -> None:
        """Forward to `height`; never back (ValueError)."""
        now = self.height
        if height < now:
            raise ValueError(f"the cluster is at slot {now}: time travels forward only")
        if self._paused is not None:
            self._paused = height
        self.skipped += height - now

    def pause(self) -> None:
        if self._paused is None:
            self._paused = self.height

    def resume(self) -> bool:
        """Whether it was paused (the slots it stood still count as skipped)."""
        if self._paused is None:
            return False
        self.skipped += self._paused - self._running()
        self._paused = None
        return True

    def end_block_soon(self, ended: Callable[[], None]) -> None:
        """Something landed: its block ends with this turn of the event loop, and then
        `ended` runs (the market's next slot). Without a loop (a script landing by hand), at
        once and without `ended`: a block a landing."""
        if self._in_block:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.blocks += 1
            return
        self._in_block = True

        def end() -> None:
            self._in_block = False
            self.blocks += 1
            ended()
        loop.call_soon(end)

    def counters(self) -> dict[str, Any]:
        return {"genesis": self.genesis.isoformat(), "skipped": self.skipped,
                "blocks": self.blocks}

    def load(self, meta: dict[str, Any]) -> None:
        """Continue from a record's counters (older records: a block a landing)."""
        self.genesis = datetime.fromisoformat(meta["genesis"])
        self.skipped = meta["skipped"]
        self.blocks = meta.get("blocks", meta["landed"])

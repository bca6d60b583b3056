"""Waiting orders live long: keeping them out of the garbage collector's full passes.

A process-wide setting, so it is made by the composition root and handed to the one place
waiting orders arrive (`Wakers`), not hidden in the watcher."""

from __future__ import annotations

import gc

FREEZE_EVERY = 1_000  # waiting orders between two freezes


class LongLived:
    """Every FREEZE_EVERY waiting orders, `gc.freeze()`: the objects alive then (waiting
    orders, pools, keys; they hold no cycles) move out of the collector's full passes, which
    walked every one of them; reference counting still frees them when they go."""

    def __init__(self, every: int = FREEZE_EVERY) -> None:
        self._every, self._seen = every, 0

    def arrived(self) -> None:
        self._seen += 1
        if self._seen % self._every == 0:
            gc.freeze()

"""Pools a venue leaves out of its quotes until their accounts change: unreadable ones, and
ones whose math failed. A fault in one pool must not fail every quote, nor be logged at each;
and the same accounts read again (the venue's look at every pool, every 10 s) are the same
fault, not a reason to try, and log, again."""

from __future__ import annotations

from loguru import logger

from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool


class LeftOut:
    def __init__(self, venue: str) -> None:
        self._venue = venue
        self.reasons: dict[str, str] = {}  # pool id -> why
        self._failed: dict[str, CpPool | DlmmPool] = {}  # the state its math failed on

    def __contains__(self, pool_id: str) -> bool:
        return pool_id in self.reasons

    def unreadable(self, pool_id: str, error: Exception) -> None:
        self._failed.pop(pool_id, None)
        self._say(pool_id, f"unreadable: {type(error).__name__}: {error}")

    def math_failed(self, pool_id: str, pool: CpPool | DlmmPool, error: Exception) -> None:
        self._failed[pool_id] = pool
        self._say(pool_id, f"quote failed: {type(error).__name__}: {error}")

    def read(self, pool_id: str, pool: CpPool | DlmmPool) -> None:
        """The pool's accounts read well: back in the quotes, unless they hold the state its
        math failed on."""
        if self._failed.get(pool_id) != pool:
            self.reasons.pop(pool_id, None)
            self._failed.pop(pool_id, None)

    def problems(self) -> list[str]:
        return [f"{self._venue} pool {pool_id} left out of quotes ({reason})"
                for pool_id, reason in self.reasons.items()]

    def _say(self, pool_id: str, reason: str) -> None:
        if self.reasons.get(pool_id) != reason:
            logger.error("{} pool {} left out of quotes until its accounts change: {}",
                         self._venue, pool_id, reason)
        self.reasons[pool_id] = reason

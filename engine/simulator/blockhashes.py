"""The cluster's blockhashes: one a height, a pure function of it (so a restarted cluster
agrees), usable for 150 blocks after it was made."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache

from engine.domain import base58
from engine.domain.transactions import Blockhash

BLOCKHASH_VALIDITY = 150  # blocks, as MAX_PROCESSING_AGE


class Blockhashes:
    def __init__(self, height: Callable[[], int]) -> None:
        self._height = height
        self._made: dict[str, int] = {}  # blockhash -> the height it was made at

    def latest(self) -> Blockhash:
        height = self._height()
        digest = blockhash_at(height)
        if digest not in self._made:
            self._made[digest] = height
            if len(self._made) > 4 * BLOCKHASH_VALIDITY:  # keep the recent ones only
                horizon = height - 2 * BLOCKHASH_VALIDITY
                for old in [h for h, at in self._made.items() if at < horizon]:
                    del self._made[old]
        return Blockhash(digest, height + BLOCKHASH_VALIDITY)

    def expiry(self, blockhash: str) -> int | None:
        """The last height at which a transaction with this blockhash may land; None: not a
        blockhash of this cluster (or one too old to remember, which is the same)."""
        made = self._made.get(blockhash)
        if made is None:  # made before a restart: look through the recent heights
            height = self._height()
            for at in range(height, max(height - BLOCKHASH_VALIDITY - 2, -1), -1):
                if blockhash_at(at) == blockhash:
                    self._made[blockhash], made = at, at
                    break
        return None if made is None else made + BLOCKHASH_VALIDITY

    def valid(self, blockhash: str) -> bool:
        """isBlockhashValid: one of this cluster's, still young enough to land with."""
        expiry = self.expiry(blockhash)
        return expiry is not None and self._height() <= expiry


@lru_cache(maxsize=1024)
def blockhash_at(height: int) -> str:
    """The blockhash of a block (getBlock's `blockhash`)."""
    return base58.encode(hashlib.sha256(f"blockhash:{height}".encode()).digest())

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
        return self.at(self._height())

    def at(self, height: int) -> Blockhash:
        """The blockhash of the block at `height`, as getLatestBlockhash answers it at a
        commitment that sees that block (finalized: the root's, 32 blocks old)."""
        digest = blockhash_at(height)
        if digest not in self._made:
            self._made[digest] = height
            if len(self._made) > 4 * BLOCKHASH_VALIDITY:  # keep the recent ones only
                horizon = self._height() - 2 * BLOCKHASH_VALIDITY
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

    def valid(self, blockhash: str, height: int | None = None) -> bool:
        """isBlockhashValid: one of this cluster's, still young enough to land with, as the
        bank at `height` (the newest, unless a commitment sees an older one) knows it: a
        blockhash newer than that bank's block is not in its queue."""
        expiry = self.expiry(blockhash)
        seen = self._height() if height is None else height
        return expiry is not None and expiry - BLOCKHASH_VALIDITY <= seen <= expiry


@lru_cache(maxsize=1024)
def blockhash_at(height: int) -> str:
    """The blockhash of a block (getBlock's `blockhash`)."""
    return base58.encode(hashlib.sha256(f"blockhash:{height}".encode()).digest())

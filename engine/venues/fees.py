"""The simulated cluster's fee market: what recent transactions paid per compute unit on each
writable account, rising with how busy the account is, and who lands first for paying more."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Sequence

WINDOW_SLOTS = 150  # what getRecentPrioritizationFees looks back over
BUSY_SLOTS = 10  # activity counted over this many slots sets the going rate
BASE_MICRO_LAMPORTS = 1_000  # a quiet account's typical bid


class FeeMarket:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._paid: dict[str, deque[tuple[int, int]]] = {}  # account -> (slot, µlamports/CU)

    def landed(self, slot: int, accounts: Iterable[str], fee: int) -> None:
        """A transaction that wrote these accounts landed at `slot`, paying `fee` per CU."""
        for account in accounts:
            paid = self._paid.setdefault(account, deque())
            paid.append((slot, fee))
            while paid and paid[0][0] < slot - WINDOW_SLOTS:
                paid.popleft()

    def others(self, slot: int, account: str) -> None:
        """Another trader's swap on this account: it bids more the busier the account is."""
        busy = sum(1 for s, _ in self._paid.get(account, ()) if s > slot - BUSY_SLOTS)
        bid = BASE_MICRO_LAMPORTS * (1 + busy) * self._rng.lognormvariate(0, 0.5)
        self.landed(slot, [account], int(bid))

    def recent(self, accounts: Sequence[str], slot: int) -> list[tuple[int, int]]:
        """Per recent slot, the least fee that landed writing any of `accounts` (0 in slots
        where none did), as getRecentPrioritizationFees answers."""
        least: dict[int, int] = {}
        for account in accounts:
            for s, fee in self._paid.get(account, ()):
                if s > slot - WINDOW_SLOTS:
                    least[s] = min(fee, least.get(s, fee))
        return sorted(least.items())

    def going_rate(self, accounts: Sequence[str], slot: int) -> int:
        """The 75th percentile of recent fees on these accounts: paying it lands first."""
        fees = sorted(fee for _, fee in self.recent(accounts, slot))
        return fees[int(len(fees) * 0.75)] if fees else 0

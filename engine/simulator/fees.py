"""The simulated cluster's fee market: what recent transactions paid per compute unit on each
writable account, rising with how busy the account is, and who lands first for paying more."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from engine.simulator.slots import SLOT_SECONDS

WINDOW_SLOTS = 150  # what getRecentPrioritizationFees looks back over
BUSY_SLOTS = 10  # activity counted over this many slots sets the going rate
BASE_MICRO_LAMPORTS = 1_000  # a quiet account's typical bid


class FeeMarket:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        # account -> slot -> the least µlamports/CU that landed writing it in that slot
        self._paid: dict[str, dict[int, int]] = {}
        self._asked: dict[tuple[tuple[str, ...], int], list[tuple[int, int]]] = {}

    def landed(self, slot: int, accounts: Iterable[str], fee: int) -> None:
        """A transaction that wrote these accounts landed at `slot`, paying `fee` per CU."""
        self._asked.clear()  # the answers given so far are out of date
        for account in accounts:
            paid = self._paid.setdefault(account, {})
            paid[slot] = min(fee, paid.get(slot, fee))
            if len(paid) > WINDOW_SLOTS:  # slots arrive in order: the oldest goes first
                for old in [s for s in paid if s <= slot - WINDOW_SLOTS]:
                    del paid[old]

    def others(self, slot: int, account: str) -> None:
        """Another trader's swap on this account: it bids more the busier the account is."""
        busy = 0
        for s in reversed(self._paid.get(account, {})):  # the newest slots first
            if s <= slot - BUSY_SLOTS:
                break
            busy += 1
        bid = BASE_MICRO_LAMPORTS * (1 + busy) * self._rng.lognormvariate(0, 0.5)
        self.landed(slot, [account], int(bid))

    def recent(self, accounts: Sequence[str], slot: int) -> list[tuple[int, int]]:
        """Per recent slot, the least fee that landed writing any of `accounts`, as
        getRecentPrioritizationFees answers. The market is kept for the pools' accounts,
        which everybody writes; a wallet's own accounts add nothing to it."""
        key = (tuple(accounts), slot)
        asked = self._asked.get(key)
        if asked is not None:  # the same question in the same slot: the same answer
            return asked
        least: dict[int, int] = {}
        for account in accounts:
            for s, fee in self._paid.get(account, {}).items():
                if s > slot - WINDOW_SLOTS and fee < least.get(s, fee + 1):
                    least[s] = fee
        self._asked[key] = answer = sorted(least.items())
        return answer

    def going_rate(self, accounts: Sequence[str], slot: int) -> int:
        """The 75th percentile of recent fees on these accounts: paying it lands first."""
        fees = sorted(fee for _, fee in self.recent(accounts, slot))
        return fees[int(len(fees) * 0.75)] if fees else 0

    def landing_delay(self, accounts: Sequence[str], price: int, slot: int,
                      rng: random.Random) -> float:
        """Seconds to land: 2-3 s as in the seed; paying these accounts' going rate (or more)
        per compute unit buys the next slot or two."""
        if price > 0 and price >= self.going_rate(accounts, slot):
            return rng.uniform(SLOT_SECONDS, 2 * SLOT_SECONDS)
        return rng.uniform(2.0, 3.0)

"""Other traders: random swaps every slot, leaning back toward fair value, so prices drift."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from engine.domain.errors import InsufficientFunds
from engine.domain.tokens import lookup
from engine.simulator.dex import Pool


class OtherTraders:
    def __init__(self, pools: Sequence[Pool], reference_usd: Mapping[str, Decimal],
                 rng: random.Random, *, activity: float = 0.3, size: float = 0.0004,
                 per_slot: float | None = None) -> None:
        """Each pool trades in `activity` of the slots; or, given `per_slot`, that many swaps a
        slot on average over all the pools (0: a quiet market, prices move only with ours)."""
        self._pools, self._rng = list(pools), rng
        self._activity, self._size, self._per_slot = activity, size, per_slot
        self._fair = {p.id: self._fair_price(p, reference_usd) for p in pools}
        self.enabled = True
        self.broken: list[tuple[Pool, str]] = []  # pools whose swaps failed, for the world
        self.traded: list[Pool] = []  # the pools swapped in the last slot
        # How a swap is made: the pool's own math, or (with the programs) a transaction.
        self.swap: Callable[[Pool, str, int, int], object] = (
            lambda pool, mint, amount, now: pool.swap(mint, amount, now))

    @staticmethod
    def _fair_price(pool: Pool, reference_usd: Mapping[str, Decimal]) -> float:
        """Atoms of the second mint per atom of the first, at reference prices."""
        a, b = pool.mints
        ta, tb = lookup(a), lookup(b)
        assert ta is not None and tb is not None
        usd = float(reference_usd[a] / reference_usd[b])
        return usd * 10.0 ** (tb.decimals - ta.decimals)

    def add(self, pool: Pool, fair_price: float) -> None:
        """A new pool (a launch): others trade it too, around the price it opened at."""
        self._pools.append(pool)
        self._fair[pool.id] = fair_price

    def remove(self, pool: Pool) -> None:
        self._pools = [p for p in self._pools if p.id != pool.id]

    @property
    def active(self) -> bool:
        """Whether anyone trades at all (not held, not a quiet market, some pool to trade)."""
        return self.enabled and self._per_slot != 0 and bool(self._pools)

    def trade(self, now: int) -> set[frozenset[str]]:
        """One slot of everybody else's activity; returns the pairs whose price moved."""
        moved: set[frozenset[str]] = set()
        self.traded = []
        if not self.active:
            return moved
        activity = (self._activity if self._per_slot is None
                    else min(1.0, self._per_slot / len(self._pools)))
        for pool in list(self._pools):
            if self._rng.random() >= activity:
                continue
            first, second = pool.mints
            deviation = math.log(pool.spot_price(first) / self._fair[pool.id])
            # Rich pools attract sellers of the dear token: a random walk with a pull to fair value.
            sell_first = self._rng.random() < 0.5 + max(-0.4, min(0.4, deviation * 40))
            mint_in = first if sell_first else second
            amount = int(pool.depth(mint_in) * self._size * self._rng.lognormvariate(0, 0.8))
            if amount <= 0:
                continue
            try:
                self.swap(pool, mint_in, amount, now)
            except InsufficientFunds:
                continue
            except (ArithmeticError, ValueError) as error:  # the pool's state is broken
                self.broken.append((pool, f"{type(error).__name__}: {error}"))
                continue
            moved.add(frozenset(pool.mints))
            self.traded.append(pool)
        return moved

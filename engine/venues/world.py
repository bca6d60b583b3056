"""The simulated market as one object: venues, chain and the faults a script can inject."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from engine.ports import Clock
from engine.venues.chain import SimChain
from engine.venues.faults import Faults
from engine.venues.seed import METEORA, RAYDIUM, SeedVenue


@dataclass
class SimWorld:
    raydium: SeedVenue
    meteora: SeedVenue
    chain: SimChain
    faults: Faults

    @classmethod
    def build(cls, clock: Clock, *, seed: int | None, latency_scale: float,
              failure_rate: float) -> SimWorld:
        rng = random.Random(seed)
        # One stream per component, so adding a quote does not reshuffle the chain's luck.
        raydium = SeedVenue(RAYDIUM, random.Random(rng.random()), clock, latency_scale)
        meteora = SeedVenue(METEORA, random.Random(rng.random()), clock, latency_scale)
        faults = Faults()
        chain = SimChain({v.name: v for v in (raydium, meteora)}, random.Random(rng.random()),
                         clock, latency_scale=latency_scale, failure_rate=failure_rate,
                         faults=faults)
        return cls(raydium, meteora, chain, faults)

    @property
    def venues(self) -> list[SeedVenue]:
        return [self.raydium, self.meteora]

    def fix_prices(self, *, raydium: Decimal | str, meteora: Decimal | str) -> None:
        """Pin each venue's price factor (1 = the reference price) and stop the drift."""
        self.raydium.fixed_factor = Decimal(raydium)
        self.meteora.fixed_factor = Decimal(meteora)

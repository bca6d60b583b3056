"""The simulated market as one object: venues, chain, other traders, scriptable faults."""

from __future__ import annotations

import random
from dataclasses import dataclass

from engine.ports import Clock
from engine.venues.chain import SimChain
from engine.venues.dex import PoolVenue
from engine.venues.faults import Faults
from engine.venues.flow import OtherTraders
from engine.venues.pools import load_seed, meteora_pools, raydium_pools, reference_prices
from engine.venues.wallet import Wallet

RAYDIUM_SLIPPAGE = "ExceededSlippage (custom program error: 0x1e)"
METEORA_SLIPPAGE = "ExceededAmountSlippageTolerance (custom program error: 0x1773)"


@dataclass
class SimWorld:
    raydium: PoolVenue
    meteora: PoolVenue
    chain: SimChain
    faults: Faults
    traders: OtherTraders

    @classmethod
    def build(cls, clock: Clock, *, seed: int | None, latency_scale: float,
              failure_rate: float) -> SimWorld:
        rng = random.Random(seed)
        # One stream per component, so adding a quote does not reshuffle the chain's luck.
        streams = [random.Random(rng.random()) for _ in range(4)]
        market = load_seed()
        ray_pools, met_pools = raydium_pools(market), meteora_pools(market)
        traders = OtherTraders([*ray_pools, *met_pools], reference_prices(market), streams[0])
        faults = Faults()
        chain_ref: list[SimChain] = []

        def now() -> int:
            return chain_ref[0].now()

        def slot() -> int:
            return chain_ref[0].block_height

        labels = {p.id: market["raydium"]["labels"][p.program] for p in ray_pools} | {
            p.id: market["meteora"]["label"] for p in met_pools}

        raydium = PoolVenue("raydium", ray_pools, RAYDIUM_SLIPPAGE, rng=streams[1], clock=clock,
                            latency_scale=latency_scale, chain_time=now, slot=slot, labels=labels)
        meteora = PoolVenue("meteora", met_pools, METEORA_SLIPPAGE, rng=streams[2], clock=clock,
                            latency_scale=latency_scale, chain_time=now, slot=slot, labels=labels)
        chain = SimChain({v.name: v for v in (raydium, meteora)}, streams[3], clock,
                         latency_scale=latency_scale, failure_rate=failure_rate, faults=faults,
                         wallet=Wallet.generous(), on_slot=traders.trade)
        chain_ref.append(chain)
        return cls(raydium, meteora, chain, faults, traders)

    @property
    def venues(self) -> list[PoolVenue]:
        return [self.raydium, self.meteora]

    def hold_prices(self) -> None:
        """Stop other traders' flow: prices move only with the engine's own swaps."""
        self.traders.enabled = False

    def move_price(self, pool_id: str, factor: float) -> None:
        """Make the pool's first token `factor` times dearer (e.g. 1.01 = +1 %)."""
        for venue in self.venues:
            if pool_id in venue.pools:
                venue.pools[pool_id].scale_price(factor)
                return
        raise KeyError(pool_id)

"""The simulated market as one object: venues, chain, other traders, scriptable faults."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from engine.ports import Clock
from engine.venues.chain import SimChain
from engine.venues.dex import Pool, PoolVenue
from engine.venues.faults import Faults
from engine.venues.flow import OtherTraders
from engine.venues.ledger import ChainRecord
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
              failure_rate: float, chain_db: str | None = None) -> SimWorld:
        """A fresh market, or, given `chain_db`, the one recorded there (created if new)."""
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
        all_pools: list[Pool] = [*ray_pools, *met_pools]
        pools = {p.id: p for p in all_pools}
        record = ChainRecord(chain_db) if chain_db else None
        saved = record.everything() if record else {}
        wallet = Wallet.from_state(saved["wallet"]) if "wallet" in saved else Wallet.generous()
        for key, state in saved.items():
            if key.startswith("pool:"):
                pools[key[5:]].restore(state)

        def snapshot(touched: list[str]) -> dict[str, Any]:
            """The wallet and the pools a landing changed (other traders' flow is not kept)."""
            return {"wallet": chain.wallet.state()} | {
                f"pool:{pool_id}": pools[pool_id].state() for pool_id in touched}

        chain = SimChain({v.name: v for v in (raydium, meteora)}, streams[3], clock,
                         latency_scale=latency_scale, failure_rate=failure_rate, faults=faults,
                         wallet=wallet, on_slot=traders.trade, record=record, snapshot=snapshot)
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

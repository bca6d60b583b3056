"""A token launch in the simulation: its terms, chosen or checked, and its first pool."""

from __future__ import annotations

import math
import random
from decimal import Decimal

from engine.domain import base58
from engine.domain.errors import InvalidLaunch
from engine.domain.tokens import LAUNCH_DECIMALS
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool, FeeParams
from engine.simulator.dex import Pool
from engine.simulator.pools import build_bins

MIN_LAUNCH_TOKENS, MAX_LAUNCH_TOKENS = 1_000, 10**12


def choose_launch(rng: random.Random, mint: str | None, venue: str | None,
                  price: Decimal | None, liquidity: Decimal | None
                  ) -> tuple[str, str, Decimal, Decimal]:
    """The launch's mint, venue, price (quote per token) and liquidity (in the quote token):
    as given, or drawn like a pump.fun launch; refused when its pool could not hold them."""
    mint = mint or base58.encode(rng.randbytes(32))
    venue = venue or rng.choice(["raydium", "meteora"])
    price = price or Decimal(rng.uniform(2e-8, 2e-6)).quantize(Decimal("1e-12"))
    liquidity = liquidity or Decimal(rng.choice([50, 85, 200]))
    tokens = liquidity / price
    if not MIN_LAUNCH_TOKENS <= tokens <= MAX_LAUNCH_TOKENS:
        raise InvalidLaunch(f"liquidity / price is {tokens:.3g} tokens; a pool holds "
                            f"{MIN_LAUNCH_TOKENS:,}..{MAX_LAUNCH_TOKENS:,}, so both reserves "
                            "are non-zero and every amount fits a u64", field="liquidity")
    return mint, venue, price, liquidity


def launch_pool(venue: str, pool_id: str, mint: str, quote_mint: str, token_atoms: int,
                quote_atoms: int, price: Decimal, quote_decimals: int) -> Pool:
    """The launch's first pool: a Raydium CPMM pool, or a Meteora DLMM pool with wide bins."""
    if venue == "raydium":
        return CpPool(pool_id, "cpmm", mint, quote_mint, token_atoms, quote_atoms, 2_500, 10**6,
                      120_000, 40_000)
    bin_step = 100  # memecoin pools use wide bins
    atoms_price = float(price) * 10 ** (quote_decimals - LAUNCH_DECIMALS)
    active = round(math.log(atoms_price) / math.log(1 + bin_step / 10_000))
    spec = {"shape": "spot", "binsEachSide": 30, "depthX": token_atoms, "depthY": quote_atoms}
    return DlmmPool(pool_id, mint, quote_mint, bin_step, active, FeeParams(base_factor=10_000),
                    build_bins(spec, active), index_reference=active)

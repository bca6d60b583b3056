"""The seed project's mock venues: a random spread around a reference price, a flat fee."""

from __future__ import annotations

import itertools
import random
from collections import OrderedDict
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from engine.domain.routing import Quote
from engine.domain.tokens import lookup
from engine.ports import Clock

# Illustrative USD reference prices, as in ../shared/market/pools.json.
REFERENCE_USD = {"SOL": Decimal(150), "USDC": Decimal(1), "USDT": Decimal(1),
                 "BONK": Decimal("0.00002"), "JUP": Decimal("0.5"), "WIF": Decimal("0.8"),
                 "RAY": Decimal(2)}
QUOTES_KEPT = 100_000  # quotes older than this many are forgotten; a swap on one fills at `low`


@dataclass(frozen=True, slots=True)
class SeedProfile:
    """price = reference x (low + r x width), fee on the output; Raydium and Meteora as in the seed."""

    name: str
    low: Decimal
    width: Decimal
    fee: Decimal
    slippage_error: str


RAYDIUM = SeedProfile("raydium", Decimal("0.98"), Decimal("0.04"), Decimal("0.003"),
                      "ExceededSlippage (custom program error: 0x1e)")
METEORA = SeedProfile("meteora", Decimal("0.97"), Decimal("0.05"), Decimal("0.002"),
                      "ExceededAmountSlippageTolerance (custom program error: 0x1773)")


class SeedVenue:
    """Quotes after ~200 ms; fills at the last quoted price, moved by a small market drift."""

    def __init__(self, profile: SeedProfile, rng: random.Random, clock: Clock,
                 latency_scale: float, drift: float = 0.001) -> None:
        self.name = profile.name
        self.profile = profile
        self.slippage_error = profile.slippage_error
        self._rng, self._clock, self._scale, self._drift = rng, clock, latency_scale, drift
        self._quoted: OrderedDict[str, Decimal] = OrderedDict()  # quote ref -> price factor
        self._refs = itertools.count(1)
        self.fixed_factor: Decimal | None = None  # scripted: no randomness in quotes

    async def quote(self, mint_in: str, mint_out: str, amount_in: int) -> Quote | None:
        await self._clock.sleep(self._rng.uniform(0.15, 0.25) * self._scale)
        pool = self.pool_id(mint_in, mint_out)
        if pool is None:
            return None
        factor = self.fixed_factor
        if factor is None:
            factor = self.profile.low + self.profile.width * Decimal(self._rng.random())
        ref = f"{self.name}-q{next(self._refs)}"
        self._quoted[ref] = factor
        if len(self._quoted) > QUOTES_KEPT:
            self._quoted.popitem(last=False)
        out, fee = self._swap(mint_in, mint_out, amount_in, factor)
        return Quote(self.name, pool, mint_in, mint_out, amount_in, out, fee, ref=ref)

    def fill(self, pool: str, mint_in: str, mint_out: str, amount_in: int, quote_ref: str) -> int:
        """What the swap pays when it lands: the quoted price, drifted."""
        factor = self.fixed_factor or self._quoted.get(quote_ref) or self.profile.low
        if self.fixed_factor is None and self._drift:
            factor *= Decimal(1 + self._rng.gauss(0, self._drift))
        return self._swap(mint_in, mint_out, amount_in, factor)[0]

    def pool_id(self, mint_in: str, mint_out: str) -> str | None:
        a, b = lookup(mint_in), lookup(mint_out)
        if a is None or b is None or a.symbol not in REFERENCE_USD or b.symbol not in REFERENCE_USD:
            return None
        first, second = sorted((a.symbol, b.symbol))
        return f"{self.name[:3]}-{first.lower()}-{second.lower()}"

    def _swap(self, mint_in: str, mint_out: str, amount_in: int, factor: Decimal) -> tuple[int, int]:
        a, b = lookup(mint_in), lookup(mint_out)
        assert a is not None and b is not None
        price = REFERENCE_USD[a.symbol] / REFERENCE_USD[b.symbol] * factor
        gross = a.to_ui(amount_in) * price * (1 - self.profile.fee)
        out = int(gross.scaleb(b.decimals).to_integral_value(ROUND_FLOOR))
        fee = int((Decimal(amount_in) * self.profile.fee).to_integral_value(ROUND_CEILING))
        return out, fee

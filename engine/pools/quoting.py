"""One pool's quote for an exact input or an exact output, with its price impact."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from engine.domain.errors import InsufficientFunds


class Curve(Protocol):
    id: str

    def swap_out(self, mint_in: str, amount_in: int, now: int) -> tuple[int, int]: ...

    def swap_in(self, mint_in: str, amount_out: int, now: int) -> tuple[int, int]: ...

    def spot_price(self, mint_in: str) -> float: ...


@dataclass(frozen=True, slots=True)
class PoolQuote:
    amount_in: int
    amount_out: int
    fee: int  # in atoms of the input
    price_impact: Decimal  # percent


def quote_pool(pool: Curve, mint_in: str, amount: int, now: int, *,
               exact_out: bool) -> PoolQuote | None:
    """What the pool pays for `amount` in (or asks for `amount` out); None when it cannot.
    A pool whose state is broken raises ArithmeticError or ValueError: the caller decides."""
    try:
        if exact_out:
            (amount_in, fee), out = pool.swap_in(mint_in, amount, now), amount
        else:
            (out, fee), amount_in = pool.swap_out(mint_in, amount, now), amount
    except InsufficientFunds:
        return None
    if out <= 0:
        return None
    # Amounts are whole atoms: up to one lost to rounding (an output rounded down, an exact
    # out's input rounded up) is not the curve's impact. It is most of a tiny amount, which
    # must not read as too large for the liquidity.
    spent, got = (amount_in - 1, out) if exact_out else (amount_in, out + 1)
    ideal = (spent - fee) * pool.spot_price(mint_in)
    share = 1 - got / ideal if ideal > 0 else 0.0
    impact = Decimal(max(0.0, share) * 100).quantize(Decimal("0.000001"))
    return PoolQuote(amount_in, out, fee, impact)


def better(candidate: PoolQuote, best: PoolQuote | None, *, exact_out: bool) -> bool:
    if best is None:
        return True
    return (candidate.amount_in < best.amount_in if exact_out
            else candidate.amount_out > best.amount_out)

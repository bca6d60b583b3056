"""A quote's price impact is the curve's: what the pool's price moves against the trade, not the
atom an output loses to rounding."""

from __future__ import annotations

from decimal import Decimal

from engine.pools.cpmm import CpPool
from engine.pools.quoting import quote_pool

SOL, USDC = "SOL-mint", "USDC-mint"


def pool() -> CpPool:
    """1,000 SOL against 150,000 USDC (9 and 6 decimals), no fee."""
    return CpPool("p", "cpmm", SOL, USDC, 1_000 * 10**9, 150_000 * 10**6, 0, 10**6)


def test_a_tiny_amount_whose_output_rounds_down_has_no_price_impact() -> None:
    quote = quote_pool(pool(), SOL, 13, 0, exact_out=False)  # 1.95 atoms of USDC: 1
    assert quote is not None and quote.amount_out == 1
    assert quote.price_impact == 0


def test_an_amount_that_pays_nothing_is_no_quote() -> None:
    assert quote_pool(pool(), SOL, 6, 0, exact_out=False) is None  # 0.9 of an atom


def test_an_exact_out_whose_input_rounds_up_an_atom_has_no_price_impact() -> None:
    quote = quote_pool(pool(), USDC, 10, 0, exact_out=True)  # ten lamports: 1.5 atoms, paid 2
    assert quote is not None and (quote.amount_in, quote.amount_out) == (2, 10)
    assert quote.price_impact == 0


def test_a_large_exact_out_has_the_curves_impact() -> None:
    quote = quote_pool(pool(), SOL, 15_000 * 10**6, 0, exact_out=True)  # a tenth of the USDC
    assert quote is not None
    # x·y = k asks 1,000 / 9 SOL for it, 1/9 more than at the spot price: 10 % impact.
    assert abs(quote.price_impact - 10) < Decimal("0.000002")


def test_a_large_trade_has_the_curves_impact() -> None:
    quote = quote_pool(pool(), SOL, 100 * 10**9, 0, exact_out=False)  # a tenth of the reserve
    assert quote is not None
    # x·y = k pays 100 / 1,100 of the USDC reserve: 1/11 less than at the spot price.
    assert abs(quote.price_impact - Decimal(100) / 11) < Decimal("0.000002")

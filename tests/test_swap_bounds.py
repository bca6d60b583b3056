"""The swaps a plan becomes: every leg bounded by the trader's slippage, or by what the next
hop spends, so that no landed transaction can pay out less (or cost more) than accepted."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from engine.domain.parsing import parse_order
from engine.domain.request import OrderRequest
from engine.domain.routing import Quote, RoutePlan, pivot_floor

NOW = datetime(2026, 12, 5, tzinfo=UTC)


def market(token_in: str, token_out: str, amount: int, slippage: float,
           **extra: str) -> OrderRequest:
    return parse_order({"orderType": "market", "tokenIn": token_in, "tokenOut": token_out,
                        "amount": amount, "slippage": slippage, **extra}, NOW)


def leg(venue: str, mint_in: str, mint_out: str, amount_in: int, amount_out: int) -> Quote:
    return Quote(venue, f"{venue}-{mint_in}-{mint_out}", mint_in, mint_out, amount_in,
                 amount_out, 0, Decimal(0))


def test_an_exact_in_swap_is_bounded_below_by_the_slippage_floor() -> None:
    order = market("SOL", "USDC", 1, 0.01)
    plan = RoutePlan((leg("raydium", "SOL", "USDC", 1_000_000_000, 150_000_000),), (), "")
    [swap] = order.swaps(plan)
    assert (swap.amount_in, swap.min_out, swap.exact_out) == (1_000_000_000, 148_500_000, False)


def test_a_split_hop_bounds_each_venue_s_leg_by_its_own_quote() -> None:
    order = market("SOL", "USDC", 1, 0.02)
    plan = RoutePlan((leg("raydium", "SOL", "USDC", 600, 90_000),
                      leg("meteora", "SOL", "USDC", 400, 60_000)), (), "")
    assert [(s.venue, s.amount_in, s.min_out) for s in order.swaps(plan)] == [
        ("raydium", 600, 88_200), ("meteora", 400, 58_800)]


def test_a_first_hop_delivers_at_least_what_its_second_spends() -> None:
    order = market("BONK", "USDC", 1, 0.01)
    plan = RoutePlan((leg("raydium", "BONK", "SOL", 10**9, 2_000_000),
                      leg("meteora", "SOL", "USDC", pivot_floor(2_000_000), 300_000)), (), "")
    first, second = order.swaps(plan)
    assert (first.hop, first.min_out) == (0, pivot_floor(2_000_000))
    assert (second.hop, second.amount_in, second.min_out) == (1, pivot_floor(2_000_000), 297_000)


def test_an_exact_out_swap_is_bounded_above_by_what_it_may_cost() -> None:
    order = market("SOL", "USDC", 150, 0.01, swapMode="ExactOut")
    plan = RoutePlan((leg("meteora", "SOL", "USDC", 1_000_000_001, 150_000_000),), (), "",
                     exact_out=True)
    [swap] = order.swaps(plan)
    assert swap.exact_out and swap.min_out == 150_000_000  # exactly this comes out
    assert swap.amount_in == 1_010_000_002  # rounded up: never a bound below 1 %

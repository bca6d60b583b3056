"""Choosing a plan: most output after fees and price impact, splitting when that pays more."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.domain.errors import NoRoute
from engine.domain.routing import Quote, choose, split_amounts


def q(venue: str, amount_in: int, amount_out: int, impact: str = "0") -> Quote:
    return Quote(venue, f"{venue}-pool", "IN", "OUT", amount_in, amount_out, 0, Decimal(impact))


def curve(venue: str, depth: int, amount_in: int) -> Quote:
    """A constant-product pool of equal reserves: output falls off with size."""
    out = depth * amount_in // (depth + amount_in)
    return q(venue, amount_in, out, str(Decimal(amount_in) / (depth + amount_in) * 100))


def test_the_venue_paying_more_wins_and_the_reason_says_by_how_much() -> None:
    plan = choose(1000, [q("raydium", 1000, 990), q("meteora", 1000, 1000)])
    assert plan.venue == "meteora"
    assert plan.reason == "meteora pays 1.0101% more than raydium"


def test_a_single_venue_is_routed_there() -> None:
    plan = choose(1000, [q("raydium", 1000, 990)])
    assert plan.venue == "raydium" and "only venue" in plan.reason


def test_no_quote_at_all_is_no_route() -> None:
    with pytest.raises(NoRoute):
        choose(1000, [])


def test_a_large_order_is_split_when_that_pays_more_than_either_venue() -> None:
    amount = 100_000
    venues = {"raydium": 1_000_000, "meteora": 600_000}
    quotes = [curve(v, d, amount) for v, d in venues.items()]
    partials = [curve(v, d, size) for v, d in venues.items() for size in split_amounts(amount)]
    plan = choose(amount, quotes, partials)
    assert len(plan.legs) == 2
    assert plan.amount_out > max(x.amount_out for x in quotes)
    assert sum(leg.amount_in for leg in plan.legs) == amount
    assert {plan.percent(leg) for leg in plan.legs} == {60, 40}
    assert plan.reason.startswith("split 40% meteora / 60% raydium pays")


def test_an_order_that_would_empty_the_pools_is_no_route() -> None:
    with pytest.raises(NoRoute, match="too large"):
        choose(10**9, [curve("raydium", 1000, 10**9)])


def test_split_sizes_cover_both_sides_of_every_split() -> None:
    sizes = split_amounts(1001)
    for k in range(1, 10):
        part = 1001 * k // 10
        assert part in sizes and 1001 - part in sizes

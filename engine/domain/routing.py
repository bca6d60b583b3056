"""Quotes from venues and the choice of the plan that pays the trader the most."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from engine.domain.errors import NoRoute

SPLIT_STEPS = 10  # splits tried: 10/90, 20/80, ... 90/10
SPLIT_WORTH_TRYING_PCT = Decimal("0.05")  # below this price impact a split cannot beat the fees
MAX_PRICE_IMPACT_PCT = Decimal(30)  # beyond this the pools are too shallow for the order


@dataclass(frozen=True, slots=True)
class Quote:
    """What one pool of one venue would pay for `amount_in`, net of its fee (atoms)."""

    venue: str
    pool: str
    mint_in: str
    mint_out: str
    amount_in: int
    amount_out: int
    fee: int  # in atoms of the input token
    price_impact: Decimal = Decimal(0)  # percent
    label: str = ""
    slot: int = 0
    opened_slot: int | None = None  # when the pool became tradable (launches); None: long ago


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """The chosen legs (one per venue used), the single-venue quotes, and why this plan won."""

    legs: tuple[Quote, ...]
    quotes: tuple[Quote, ...]
    reason: str

    @property
    def amount_in(self) -> int:
        return sum(leg.amount_in for leg in self.legs)

    @property
    def amount_out(self) -> int:
        return sum(leg.amount_out for leg in self.legs)

    @property
    def venue(self) -> str:
        return "+".join(leg.venue for leg in self.legs)

    @property
    def price_impact(self) -> Decimal:
        weighted = sum((leg.price_impact * leg.amount_in for leg in self.legs), Decimal(0))
        return (weighted / max(self.amount_in, 1)).quantize(Decimal("0.000001"))

    def percent(self, leg: Quote) -> int:
        return round(leg.amount_in * 100 / self.amount_in)


def split_amounts(amount_in: int) -> list[int]:
    """Every leg size a two-venue split may need."""
    parts = {amount_in * k // SPLIT_STEPS for k in range(1, SPLIT_STEPS)}
    return sorted(parts | {amount_in - p for p in parts})


def worth_splitting(quotes: Sequence[Quote], venues_with_pair: int) -> bool:
    """Two venues trade the pair, and one could not take it all or moves its price noticeably."""
    if venues_with_pair < 2:
        return False
    return len(quotes) < venues_with_pair or max(q.price_impact for q in quotes) >= SPLIT_WORTH_TRYING_PCT


def choose(amount_in: int, quotes: Sequence[Quote], partials: Sequence[Quote] = ()) -> RoutePlan:
    """The plan with the most output after fees and price impact: one venue, or a split."""
    singles = sorted(quotes, key=lambda q: (-q.amount_out, q.venue))
    candidates: list[tuple[Quote, ...]] = [(q,) for q in singles]
    venues = sorted({q.venue for q in partials})
    if len(venues) == 2:
        by_size = {(q.venue, q.amount_in): q for q in partials}
        a, b = venues
        for k in range(1, SPLIT_STEPS):
            part = amount_in * k // SPLIT_STEPS
            legs = by_size.get((a, part)), by_size.get((b, amount_in - part))
            if legs[0] is not None and legs[1] is not None:
                candidates.append((legs[0], legs[1]))
    if not candidates:
        raise NoRoute("the amount is too large for the available liquidity")
    best = max(candidates, key=lambda legs: (sum(q.amount_out for q in legs), -len(legs)))
    plan = RoutePlan(best, tuple(singles), _reason(best, singles, amount_in))
    if plan.price_impact > MAX_PRICE_IMPACT_PCT:
        raise NoRoute(f"the amount is too large for the available liquidity "
                      f"(price impact {plan.price_impact:.2f}%)")
    return plan


def _reason(best: tuple[Quote, ...], singles: Sequence[Quote], amount_in: int) -> str:
    out = sum(q.amount_out for q in best)
    if len(best) > 1:
        split = " / ".join(f"{round(q.amount_in * 100 / amount_in)}% {q.venue}" for q in best)
        if not singles:
            return f"split {split}: no single venue can take the whole amount"
        runner = singles[0]
        return f"split {split} pays {_gain(out, runner.amount_out)} more than {runner.venue} alone"
    if len(singles) == 1:
        return f"{best[0].venue} is the only venue that can fill this"
    runner = singles[1]
    return f"{best[0].venue} pays {_gain(out, runner.amount_out)} more than {runner.venue}"


def _gain(out: int, other: int) -> str:
    return f"{Decimal(out - other) / max(other, 1) * 100:.4f}%"

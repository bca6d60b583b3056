"""Quotes from venues and the choice of the plan that pays the trader the most."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from engine.domain.errors import NoRoute

SPLIT_STEPS = 10  # splits tried: 10/90, 20/80, ... 90/10
SPLIT_WORTH_TRYING_PCT = Decimal("0.05")  # below this price impact a split cannot beat the fees
MAX_PRICE_IMPACT_PCT = Decimal(30)  # beyond this the pools are too shallow for the order
# A route through a pivot token is two swap instructions with fixed amounts: the second can
# spend only what the first is bound to deliver (the programs take no "whatever came in"). The
# first hop is bound to deliver its quote less this margin, in basis points; the second spends
# exactly that, and what the first delivers beyond it stays in the wallet (as SOL, unwrapped,
# or USDC). Without the margin any price move on the first pool would fail the transaction.
PIVOT_MARGIN_BPS = 30


def pivot_floor(amount_out: int) -> int:
    """What a first hop quoted at `amount_out` is bound to deliver, and its second hop spends."""
    return amount_out * (10_000 - PIVOT_MARGIN_BPS) // 10_000


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
    exact_out: bool = False  # the legs' outputs are fixed and their inputs what they cost
    # The legs hop by hop: one hop for a direct route, two through SOL or USDC. The legs of
    # one hop trade the same pair (a split across venues); each hop feeds the next.
    hops: tuple[tuple[Quote, ...], ...] = field(init=False, repr=False, compare=False)
    _impact: Decimal = field(init=False, repr=False, compare=False)
    _amounts: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hops: list[list[Quote]] = []
        for leg in self.legs:
            if hops and hops[-1][0].mint_in == leg.mint_in:
                hops[-1].append(leg)
            else:
                hops.append([leg])
        object.__setattr__(self, "hops", tuple(tuple(hop) for hop in hops))  # frozen: once
        kept = Decimal(1)
        for hop in hops:
            weighted = sum((leg.price_impact * leg.amount_in for leg in hop), Decimal(0))
            kept *= 1 - weighted / max(sum(leg.amount_in for leg in hop), 1) / 100
        object.__setattr__(self, "_impact", ((1 - kept) * 100).quantize(Decimal("0.000001")))
        object.__setattr__(self, "_amounts", (sum(leg.amount_in for leg in hops[0]),
                                              sum(leg.amount_out for leg in hops[-1])))

    def hop_of(self, leg: Quote) -> int:
        return next(n for n, hop in enumerate(self.hops) if leg in hop)

    @property
    def amount_in(self) -> int:
        return self._amounts[0]

    @property
    def amount_out(self) -> int:
        return self._amounts[1]

    @property
    def venue(self) -> str:
        return "+".join(dict.fromkeys(leg.venue for leg in self.legs))

    @property
    def via(self) -> str | None:
        """The intermediate mint of a two-hop route."""
        return self.hops[0][0].mint_out if len(self.hops) > 1 else None

    @property
    def price_impact(self) -> Decimal:
        """Percent, the hops' impacts compounded, each weighted over its split."""
        return self._impact

    def percent(self, leg: Quote) -> int:
        """The leg's share of its own hop's input."""
        hop = self.hops[self.hop_of(leg)]
        return round(leg.amount_in * 100 / max(sum(q.amount_in for q in hop), 1))


def chain_hops(first: RoutePlan, second: RoutePlan, direct: RoutePlan | None,
               via: str) -> RoutePlan:
    """A two-hop plan: `first` into `via`, then `second` out of it, compared with `direct`."""
    out = second.amount_out
    if direct is None:
        reason = f"no pool trades the pair: through {via}"
    else:
        reason = f"through {via} pays {_gain(out, direct.amount_out)} more than {direct.venue} direct"
    plan = RoutePlan(first.legs + second.legs, direct.quotes if direct else (), reason)
    if plan.price_impact > MAX_PRICE_IMPACT_PCT:
        raise NoRoute(f"the amount is too large for the available liquidity "
                      f"(price impact {plan.price_impact:.2f}%)")
    return plan


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


def choose_exact_out(quotes: Sequence[Quote]) -> RoutePlan:
    """The single pool that asks the least input for the exact output (exact-out swaps are
    not split: each venue's instruction fixes its own output)."""
    if not quotes:
        raise NoRoute("no pool can pay that exact amount out")
    ranked = sorted(quotes, key=lambda q: (q.amount_in, q.venue))
    best = ranked[0]
    if len(ranked) == 1:
        reason = f"{best.venue} is the only venue that can pay this exact amount"
    else:
        runner = ranked[1]
        saving = Decimal(runner.amount_in - best.amount_in) / max(runner.amount_in, 1) * 100
        reason = f"{best.venue} costs {saving:.4f}% less than {runner.venue}"
    plan = RoutePlan((best,), tuple(ranked), reason, exact_out=True)
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

"""Asking every venue at once and choosing the plan: used for orders and for /api/quotes."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from decimal import Decimal

from loguru import logger

from engine.domain.errors import NoRoute, TransientError
from engine.domain.request import SwapMode
from engine.domain.routing import (
    Quote,
    RoutePlan,
    chain_hops,
    choose,
    choose_exact_out,
    pivot_floor,
    split_amounts,
    worth_splitting,
)
from engine.domain.tokens import Token, lookup, net_price
from engine.ports import Venue

PIVOTS = tuple(t.mint for t in (lookup("SOL"), lookup("USDC")) if t is not None)
UNFILLED_PROBE = 10**6  # no pool fills an amount: this many times as much, to tell why
MARGINAL_STEPS = 4  # a thousandth of a token, then a thousand times as much, ... (a million)
MARGINAL_ATOMS = 1_000  # what a marginal price's amount must pay out: a tenth of a percent


class _Unfilled(NoRoute):
    """No pool quotes the amount, whole or split: too little to pay anything, or too much
    for the liquidity. `plan` tells which."""

    def __init__(self, venues: Sequence[Venue], mint_in: str, mint_out: str,
                 amount_in: int) -> None:
        super().__init__("the amount is too large for the available liquidity")
        self.venues, self.mint_in, self.mint_out, self.amount_in = (
            venues, mint_in, mint_out, amount_in)


class Router:
    def __init__(self, venues: Sequence[Venue], *, through_pivots: bool = True) -> None:
        self._venues, self._through_pivots = venues, through_pivots

    @property
    def venue_names(self) -> list[str]:
        return [v.name for v in self._venues]

    def within(self, venues: Collection[str] | None = None, *,
               direct_only: bool = False) -> Router:
        """This router on some of its venues only, or without routes through SOL or USDC:
        what a quote's caller may ask for (`dexes`, `onlyDirectRoutes`)."""
        chosen = [v for v in self._venues if venues is None or v.name in venues]
        return Router(chosen, through_pivots=self._through_pivots and not direct_only)

    def problems(self) -> list[str]:
        """Every venue's pools left out of quotes, and why."""
        return [problem for venue in self._venues for problem in venue.problems()]

    def has_route(self, mint_in: str, mint_out: str,
                  mode: SwapMode = SwapMode.EXACT_IN) -> bool:
        if mode is SwapMode.EXACT_OUT:
            return self._direct(mint_in, mint_out)
        return self._direct(mint_in, mint_out) or bool(self._pivots(mint_in, mint_out))

    def _direct(self, mint_in: str, mint_out: str) -> bool:
        return any(v.has_pair(mint_in, mint_out) for v in self._venues)

    def _pivots(self, mint_in: str, mint_out: str) -> list[str]:
        """SOL or USDC, where pools lead from the input to it and from it to the output."""
        return [m for m in PIVOTS if self._through_pivots and m not in (mint_in, mint_out)
                and self._direct(mint_in, m) and self._direct(m, mint_out)]

    async def price(self, token_in: Token, token_out: Token, amount: int,
                    mode: SwapMode = SwapMode.EXACT_IN) -> Decimal | None:
        """The best net price for this amount, tokenOut per tokenIn in UI units (after fees
        and price impact): what triggers, TWAP limits and notional checks compare. None
        without a route; while no venue can be asked, the node's TransientError (no price is
        known then, and the caller should look again: nothing else may tell it to)."""
        try:
            plan = await self._plan(token_in.mint, token_out.mint, amount, mode)
        except NoRoute:
            return None
        return net_price(token_in, token_out, plan.amount_in, plan.amount_out)

    async def marginal_price(self, base: Token, quote: Token) -> Decimal | None:
        """The price of a small amount of `base` in `quote` (no price impact to speak of): a
        thousandth of a token, or, for a token so cheap that this pays out too few atoms to
        price it well (a thousandth of a BONK pays nothing), a thousand times as much, and so
        on. None without a route; while no venue can be asked, the node's TransientError."""
        amount, found = max(1, 10 ** base.decimals // 1000), None
        for _ in range(MARGINAL_STEPS):
            price = await self.price(base, quote, amount)
            if price is not None:
                found = price
                if quote.to_atoms(base.to_ui(amount) * price) >= MARGINAL_ATOMS:
                    break
            amount *= 1000
        return found

    async def plan(self, mint_in: str, mint_out: str, amount: int,
                   mode: SwapMode = SwapMode.EXACT_IN) -> RoutePlan:
        """The plan that nets the most for `amount` of the input; with ExactOut, the one that
        costs the least for `amount` of the output. An amount no pool fills is refused as too
        small or as too large, whichever it is."""
        try:
            return await self._plan(mint_in, mint_out, amount, mode)
        except _Unfilled as unfilled:
            larger = await self._quote([(v, unfilled.amount_in * UNFILLED_PROBE)
                                        for v in unfilled.venues],
                                       unfilled.mint_in, unfilled.mint_out)
            if larger:  # a pool that fills more had the liquidity for less
                raise NoRoute("the amount is too small: every pool pays nothing for it") \
                    from None
            raise

    async def _plan(self, mint_in: str, mint_out: str, amount: int,
                    mode: SwapMode) -> RoutePlan:
        if mode is SwapMode.EXACT_OUT:
            return await self._exact_out(mint_in, mint_out, amount)
        return await self._exact_in(mint_in, mint_out, amount)

    async def _exact_out(self, mint_in: str, mint_out: str, amount_out: int) -> RoutePlan:
        """Direct pools only: a route through SOL or USDC would have to buy its intermediate
        amount with a margin and leave the rest in the wallet."""
        venues = [v for v in self._venues if v.has_pair(mint_in, mint_out)]
        if not venues:
            raise NoRoute("ExactOut needs a pool that trades the pair directly")
        results = await asyncio.gather(
            *(v.quote_exact_out(mint_in, mint_out, amount_out) for v in venues),
            return_exceptions=True)
        return choose_exact_out(_answered(venues, results, "exact-out quote"))

    async def _exact_in(self, mint_in: str, mint_out: str, amount_in: int) -> RoutePlan:
        """Direct (split across venues where that pays), or two hops through SOL or USDC
        (each hop on either venue or split), compared net of every fee and price impact."""
        direct: RoutePlan | None = None
        refusal = NoRoute("no pool trades this pair, directly or through SOL or USDC")
        if self._direct(mint_in, mint_out):
            try:
                direct = await self._one_hop(mint_in, mint_out, amount_in)
            except NoRoute as error:
                refusal = error
        best = direct
        for pivot in self._pivots(mint_in, mint_out):
            try:
                first = await self._one_hop(mint_in, pivot, amount_in)
                delivered = sum(pivot_floor(leg.amount_out) for leg in first.legs)
                second = await self._one_hop(pivot, mint_out, delivered)
                if best is None or second.amount_out > best.amount_out:
                    token = lookup(pivot)
                    best = chain_hops(first, second, direct, token.symbol if token else pivot)
            except NoRoute as error:
                refusal = error
        if best is None:
            raise refusal
        return best

    async def _one_hop(self, mint_in: str, mint_out: str, amount_in: int) -> RoutePlan:
        """Quote the whole amount everywhere; when price impact is high, also try splits."""
        venues = [v for v in self._venues if v.has_pair(mint_in, mint_out)]
        if not venues:
            raise NoRoute("no venue has a pool for this pair")
        quotes = await self._quote([(v, amount_in) for v in venues], mint_in, mint_out)
        partials: list[Quote] = []
        if worth_splitting(quotes, len(venues)):
            sizes = split_amounts(amount_in)
            partials = await self._quote([(v, s) for v in venues for s in sizes], mint_in, mint_out)
        if not quotes and not partials:  # no pool quotes it, whole or split
            raise _Unfilled(venues, mint_in, mint_out, amount_in)
        return choose(amount_in, quotes, partials)

    async def _quote(self, asks: list[tuple[Venue, int]], mint_in: str,
                     mint_out: str) -> list[Quote]:
        results = await asyncio.gather(
            *(venue.quote(mint_in, mint_out, amount) for venue, amount in asks),
            return_exceptions=True)
        return _answered([venue for venue, _ in asks], results, "quote")


def _answered(venues: Sequence[Venue], results: Sequence[Quote | BaseException | None],
              what: str) -> list[Quote]:
    """The quotes the venues gave. A venue that could not be asked (its node down) is left
    out while another answered; when none answered and one could not be asked, that is the
    answer, a transient error (the order is tried again, a waiting one keeps waiting), not a
    route refused for want of liquidity the pools may well have. Such an outage is the venue's
    to tell (once, not at every quote); any other failure is said here."""
    quotes = [result for result in results if isinstance(result, Quote)]
    failures = [(venue, result) for venue, result in zip(venues, results, strict=True)
                if isinstance(result, BaseException)]
    unreachable = [error for _, error in failures if isinstance(error, TransientError)]
    if not quotes and unreachable:
        raise unreachable[0]
    for venue, error in failures:
        if not isinstance(error, TransientError):
            logger.warning("{} {} failed: {!r}", venue.name, what, error)
    return quotes

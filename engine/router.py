"""Asking every venue at once and choosing the plan: used for orders and for /api/quotes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from loguru import logger

from engine.domain.errors import NoRoute
from engine.domain.routing import Quote, RoutePlan, choose, split_amounts, worth_splitting
from engine.ports import Venue


class Router:
    def __init__(self, venues: Sequence[Venue]) -> None:
        self._venues = venues

    def has_route(self, mint_in: str, mint_out: str) -> bool:
        return any(v.has_pair(mint_in, mint_out) for v in self._venues)

    async def plan(self, mint_in: str, mint_out: str, amount_in: int) -> RoutePlan:
        """Quote the whole amount everywhere; when price impact is high, also try splits."""
        venues = [v for v in self._venues if v.has_pair(mint_in, mint_out)]
        if not venues:
            raise NoRoute("no venue has a pool for this pair")
        quotes = await self._quote([(v, amount_in) for v in venues], mint_in, mint_out)
        partials: list[Quote] = []
        if worth_splitting(quotes, len(venues)):
            sizes = split_amounts(amount_in)
            partials = await self._quote([(v, s) for v in venues for s in sizes], mint_in, mint_out)
        return choose(amount_in, quotes, partials)

    async def _quote(self, asks: list[tuple[Venue, int]], mint_in: str,
                     mint_out: str) -> list[Quote]:
        results = await asyncio.gather(
            *(venue.quote(mint_in, mint_out, amount) for venue, amount in asks),
            return_exceptions=True)
        quotes = []
        for (venue, _), result in zip(asks, results, strict=True):
            if isinstance(result, Quote):
                quotes.append(result)
            elif isinstance(result, BaseException):
                logger.warning("{} quote failed: {!r}", venue.name, result)
        return quotes

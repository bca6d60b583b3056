"""A quote reads the market; only the market's own clock (or a landing) moves it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

from engine.app import build_world
from engine.config import Settings
from engine.domain.routing import Quote
from engine.domain.tokens import lookup
from engine.ports import Venue
from engine.testing import ManualClock


def mint(symbol: str) -> str:
    token = lookup(symbol)
    assert token is not None
    return token.mint


async def quote_everywhere(venues: Sequence[Venue], clock: ManualClock) -> list[Quote | None]:
    quoting = asyncio.gather(*(venue.quote(mint("SOL"), mint("USDC"), 10**9) for venue in venues))
    await asyncio.sleep(0)  # let each quote reach its simulated latency
    await clock.advance(1.0)
    return list(await quoting)


async def test_quoting_after_slots_passed_leaves_every_pool_as_it_was() -> None:
    clock = ManualClock()
    world = build_world(replace(Settings(), seed=5, latency_scale=1.0, chain_db=""), clock)
    await clock.advance(40.0)  # 100 slots pass with no market task running
    before = {pool_id: repr(pool.state()) for venue in world.venues
              for pool_id, pool in venue.pools.items()}

    first = await quote_everywhere(world.venues, clock)
    second = await quote_everywhere(world.venues, clock)

    after = {pool_id: repr(pool.state()) for venue in world.venues
             for pool_id, pool in venue.pools.items()}
    assert after == before
    assert [q.amount_out if q else None for q in first] == [
        q.amount_out if q else None for q in second]


async def test_the_market_moves_when_its_clock_task_advances_the_chain() -> None:
    clock = ManualClock()
    world = build_world(replace(Settings(), seed=5, latency_scale=1.0, chain_db=""), clock)
    before = {pool_id: repr(pool.state()) for venue in world.venues
              for pool_id, pool in venue.pools.items()}
    await clock.advance(40.0)
    world.chain.advance()
    after = {pool_id: repr(pool.state()) for venue in world.venues
             for pool_id, pool in venue.pools.items()}
    assert after != before

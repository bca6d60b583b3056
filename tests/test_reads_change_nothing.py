"""A quote reads the market; only the market's own clock (or a landing) moves it."""

from __future__ import annotations

from pathlib import Path

from conftest import world_at

from engine.domain.routing import Quote
from engine.domain.tokens import lookup
from engine.simulator.world import SimWorld
from engine.solana.programs import AMM_V4, CPMM, DLMM
from engine.solana_client.account_venue import AccountVenue
from engine.solana_client.client import RpcClient
from engine.solana_client.transports import InProcess
from engine.testing import ManualClock


def mint(symbol: str) -> str:
    token = lookup(symbol)
    assert token is not None
    return token.mint


async def quote_everywhere(world: SimWorld, clock: ManualClock) -> list[Quote | None]:
    """Every venue's quote, read from the cluster's accounts as the engine reads them."""
    rpc = RpcClient(InProcess(world.rpc))
    venues = [AccountVenue("raydium", (AMM_V4, CPMM), rpc, clock, slot_seconds=0.4,
                           max_age_slots=2),
              AccountVenue("meteora", (DLMM,), rpc, clock, slot_seconds=0.4, max_age_slots=2)]
    for venue in venues:
        await venue.load()
    quotes = [await venue.quote(mint("SOL"), mint("USDC"), 10**9) for venue in venues]
    await rpc.close()
    return quotes


async def test_quoting_after_slots_passed_leaves_every_pool_as_it_was(tmp_path: Path) -> None:
    clock = ManualClock()
    world = world_at(clock, tmp_path)
    await clock.advance(40.0)  # 100 slots pass with no market task running
    before = {pool_id: repr(pool.state()) for venue in world.venues
              for pool_id, pool in venue.pools.items()}

    first = await quote_everywhere(world, clock)
    second = await quote_everywhere(world, clock)

    after = {pool_id: repr(pool.state()) for venue in world.venues
             for pool_id, pool in venue.pools.items()}
    assert after == before
    assert all(q is not None for q in first)
    assert [q.amount_out if q else None for q in first] == [
        q.amount_out if q else None for q in second]


async def test_the_market_moves_when_its_clock_task_advances_the_chain(tmp_path: Path) -> None:
    clock = ManualClock()
    world = world_at(clock, tmp_path)
    before = {pool_id: repr(pool.state()) for venue in world.venues
              for pool_id, pool in venue.pools.items()}
    await clock.advance(40.0)
    world.chain.advance()
    after = {pool_id: repr(pool.state()) for venue in world.venues
             for pool_id, pool in venue.pools.items()}
    assert after != before

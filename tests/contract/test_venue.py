"""The Venue contract, run against the port's implementation (`AccountVenue`, which reads pool
accounts over JSON-RPC) on each kind of cluster it can read: the simulation's model of the
programs and, where the bytecode is at hand, the programs themselves. A venue knows its pairs,
quotes what the pool's own math says for the state the cluster holds, to the atom, follows the
pools when they move, and leaves out a pool whose math fails, saying so, until it changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from stubs import SOL, USDC

from engine.app import build_world
from engine.clock import SystemClock
from engine.config import Settings
from engine.pools.quoting import quote_pool
from engine.simulator.world import SimWorld
from engine.solana.programs import AMM_V4, CPMM, DLMM
from engine.solana_client.account_venue import AccountVenue
from engine.solana_client.client import RpcClient
from engine.solana_client.transports import InProcess

BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
NOWHERE = "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R"  # a mint no pool trades
SOL_USDC_POOLS = ("ray-sol-usdc", "met-sol-usdc")


@dataclass
class Market:
    world: SimWorld
    venues: dict[str, AccountVenue]

    async def refresh(self) -> None:
        """What a venue does to see the pools again (a notification or a read)."""
        await asyncio.gather(*(venue.load() for venue in self.venues.values()))
        await asyncio.gather(*(venue._read(list(venue.pools)) for venue in self.venues.values()))


@pytest_asyncio.fixture(params=["model", "programs"])
async def market(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Market]:
    programs = request.getfixturevalue("programs") if request.param == "programs" else None
    settings = replace(Settings(), db=str(tmp_path / "e.db"), latency_scale=0.0, seed=7,
                       programs=str(programs) if programs else "")
    clock = SystemClock()
    world = build_world(settings, clock)
    world.hold_prices()
    rpc = RpcClient(InProcess(world.rpc))
    venues = {"raydium": AccountVenue("raydium", (AMM_V4, CPMM), rpc, clock, slot_seconds=0.0,
                                      max_age_slots=2),
              "meteora": AccountVenue("meteora", (DLMM,), rpc, clock, slot_seconds=0.0,
                                      max_age_slots=2)}
    opened = Market(world, venues)
    await opened.refresh()
    yield opened
    await rpc.close()
    await world.chain.close()


@pytest.mark.parametrize("name", ["raydium", "meteora"])
async def test_a_venue_knows_its_pairs_both_ways_and_no_others(market: Market,
                                                               name: str) -> None:
    venue = market.venues[name]
    assert venue.has_pair(SOL, USDC) and venue.has_pair(USDC, SOL)
    assert not venue.has_pair(SOL, NOWHERE)
    assert await venue.quote(SOL, NOWHERE, 10**9) is None


@pytest.mark.parametrize("name", ["raydium", "meteora"])
async def test_a_quote_spends_the_amount_and_pays_net_of_its_fee(market: Market,
                                                                 name: str) -> None:
    quote = await market.venues[name].quote(SOL, USDC, 10**9)
    assert quote is not None
    assert (quote.venue, quote.mint_in, quote.mint_out, quote.amount_in) == (name, SOL, USDC,
                                                                            10**9)
    assert 100_000_000 < quote.amount_out < 200_000_000  # 1 SOL nets about 150 USDC
    assert quote.fee > 0 and quote.pool  # the pool's id: a name here, an address on a cluster


@pytest.mark.parametrize("name", ["raydium", "meteora"])
async def test_a_round_trip_returns_less_than_it_spent(market: Market, name: str) -> None:
    venue = market.venues[name]
    out = await venue.quote(SOL, USDC, 10**9)
    assert out is not None
    back = await venue.quote(USDC, SOL, out.amount_out)
    assert back is not None and back.amount_out < 10**9  # fees both ways


@pytest.mark.parametrize("name", ["raydium", "meteora"])
async def test_exact_out_receives_exactly_the_amount_asked_for_what_it_costs(
        market: Market, name: str) -> None:
    venue = market.venues[name]
    quote = await venue.quote_exact_out(SOL, USDC, 100_000_000)
    assert quote is not None and quote.amount_out == 100_000_000
    spent = await venue.quote(SOL, USDC, quote.amount_in)
    assert spent is not None and spent.amount_out >= 100_000_000  # it costs enough, no more
    less = await venue.quote(SOL, USDC, quote.amount_in - quote.amount_in // 1000)
    assert less is not None and less.amount_out < 100_000_000


@pytest.mark.parametrize("name", ["raydium", "meteora"])
async def test_a_quote_follows_the_pool_once_the_venue_looks_again(market: Market,
                                                                   name: str) -> None:
    venue = market.venues[name]
    before = await venue.quote(SOL, USDC, 10**9)
    for pool in SOL_USDC_POOLS:
        market.world.move_price(pool, 1.05)  # SOL 5 % dearer everywhere
    await market.refresh()
    after = await venue.quote(SOL, USDC, 10**9)
    assert before is not None and after is not None and after.amount_out > before.amount_out


@pytest.mark.parametrize("name", ["raydium", "meteora"])
async def test_a_quote_is_the_pool_math_on_the_state_the_cluster_holds(market: Market,
                                                                       name: str) -> None:
    venue = market.venues[name]
    for mint_in, mint_out, amount in ((SOL, USDC, 10**9), (USDC, SOL, 150_000_000),
                                      (SOL, USDC, 2_500 * 10**9), (BONK, SOL, 10**11)):
        quote = await venue.quote(mint_in, mint_out, amount)
        if quote is None:
            assert not venue.has_pair(mint_in, mint_out)
            continue
        pool = market.world.pool(quote.pool)  # the simulation's pool at that address
        own = quote_pool(pool, mint_in, amount, market.world.chain.now(), exact_out=False)
        assert own is not None and (quote.amount_out, quote.fee) == (own.amount_out, own.fee)
    exact = await venue.quote_exact_out(SOL, USDC, 100_000_000)
    assert exact is not None
    own = quote_pool(market.world.pool(exact.pool), SOL, 100_000_000,
                     market.world.chain.now(), exact_out=True)
    assert own is not None and exact.amount_in == own.amount_in


class Broken:
    """A pool whose state went bad: its math raises."""

    def __init__(self, pool: Any) -> None:
        self.mints = pool.mints

    def __getattr__(self, name: str) -> Any:
        def fails(*args: object, **kwargs: object) -> Any:
            raise ArithmeticError("reserves went negative")
        return fails


async def test_a_pool_whose_math_fails_is_left_out_and_named_until_its_accounts_change(
        market: Market) -> None:
    venue = market.venues["raydium"]
    await venue.subscribe()  # notifications keep it fresh: quotes read nothing first
    good = await venue.quote(SOL, USDC, 10**9)
    assert good is not None and venue.problems() == []
    venue.pools[good.pool] = Broken(venue.pools[good.pool])  # type: ignore[assignment]
    for _ in range(2):  # left out once, not tried again on every quote
        other = await venue.quote(SOL, USDC, 10**9)
        assert other is None or other.pool != good.pool
    assert venue.problems() == [f"raydium pool {good.pool} left out of quotes (quote failed: "
                                "ArithmeticError: reserves went negative)"]
    market.world.move_price(good.pool, 1.01)  # its accounts change: it is read again
    await market.refresh()
    assert venue.problems() == []
    again = await venue.quote(SOL, USDC, 10**9)
    assert again is not None and again.pool == good.pool

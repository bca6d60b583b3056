"""The Venue contract, run against both implementations of the port: the simulation's pools
(`PoolVenue`, the default) and venues that read pool accounts over JSON-RPC (`AccountVenue`,
what a real cluster is traded through). Both must know the same pairs and give the same quotes
for the same pool state, to the atom; the last test compares them directly. One difference is
allowed and named: a quote's `pool` is the simulation's pool name in one, the pool account's
address in the other (each venue's own directory maps it to the accounts it signs with)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import pytest_asyncio
from stubs import SOL, USDC

from engine.app import build_world
from engine.clock import SystemClock
from engine.config import Settings
from engine.ports import Venue
from engine.simulator.world import SimWorld
from engine.solana.programs import AMM_V4, CPMM, DLMM
from engine.solana_client.account_venue import AccountVenue
from engine.solana_client.client import InProcess, RpcClient

BONK = "DezXAZ8z7PnrnRJjz3wXBoRgixCa6xjnB7YaB1pPB263"
NOWHERE = "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R"  # a mint no pool trades
SOL_USDC_POOLS = ("ray-sol-usdc", "met-sol-usdc")


@dataclass
class Market:
    world: SimWorld
    venues: dict[str, Venue]
    refresh: Callable[[], Awaitable[object]]  # what a venue does to see the pools again


async def open_market(kind: str, tmp_path: Path) -> tuple[Market, Callable[[], Awaitable[None]]]:
    settings = replace(Settings(), db=str(tmp_path / f"{kind}.db"), latency_scale=0.0, seed=7)
    clock = SystemClock()
    world = build_world(settings, clock)
    world.hold_prices()
    if kind == "pools":
        async def nothing() -> None:
            return None
        return Market(world, {v.name: v for v in world.venues}, nothing), world.chain.close
    rpc = RpcClient(InProcess(world.rpc))
    readers = {"raydium": AccountVenue("raydium", (AMM_V4, CPMM), rpc, clock, slot_seconds=0.0,
                                       max_age_slots=2),
               "meteora": AccountVenue("meteora", (DLMM,), rpc, clock, slot_seconds=0.0,
                                       max_age_slots=2)}

    async def refresh() -> None:
        await asyncio.gather(*(reader.load() for reader in readers.values()))

    async def close() -> None:
        await rpc.close()
        await world.chain.close()

    await refresh()
    return Market(world, dict(readers), refresh), close


@pytest_asyncio.fixture(params=["pools", "accounts"])
async def market(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Market]:
    opened, close = await open_market(request.param, tmp_path)
    yield opened
    await close()


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


async def test_both_implementations_quote_the_same_atoms(tmp_path: Path) -> None:
    pools, close_pools = await open_market("pools", tmp_path)
    accounts, close_accounts = await open_market("accounts", tmp_path)
    try:
        for name in ("raydium", "meteora"):
            for mint_in, mint_out, amount in ((SOL, USDC, 10**9), (USDC, SOL, 150_000_000),
                                              (SOL, USDC, 2_500 * 10**9), (BONK, SOL, 10**11)):
                a = await pools.venues[name].quote(mint_in, mint_out, amount)
                b = await accounts.venues[name].quote(mint_in, mint_out, amount)
                if a is None or b is None:
                    assert a is None and b is None, (name, mint_in, mint_out)
                    continue
                assert (a.label, a.amount_out, a.fee) == (b.label, b.amount_out, b.fee), (
                    name, mint_in, mint_out, amount)
            exact_a = await pools.venues[name].quote_exact_out(SOL, USDC, 100_000_000)
            exact_b = await accounts.venues[name].quote_exact_out(SOL, USDC, 100_000_000)
            assert exact_a is not None and exact_b is not None
            assert exact_a.amount_in == exact_b.amount_in
    finally:
        await close_pools()
        await close_accounts()

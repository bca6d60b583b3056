"""Exact-out pool math: the fact sheet's example, and that the input asked for buys the output."""

from __future__ import annotations

import pytest

from engine.domain.errors import InsufficientFunds
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool, FeeParams
from engine.simulator.pools import load_seed, meteora_pools, raydium_pools

SOL, USDC = "So11111111111111111111111111111111111111112", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def seed_pool(pool_id: str) -> CpPool | DlmmPool:
    seed = load_seed()
    pools: list[CpPool | DlmmPool] = [*raydium_pools(seed), *meteora_pools(seed)]
    return next(p for p in pools if p.id == pool_id)


def test_raydium_v4_exact_out_150_usdc_costs_the_fact_sheet_figure() -> None:
    pool = seed_pool("ray-sol-usdc")
    amount_in, fee = pool.swap_in(SOL, 150_000_000, 0)
    assert amount_in == 1_002_539_685
    assert fee == amount_in - -(-30_000 * 10**9 * 150_000_000 // (4_500_000 * 10**6 - 150_000_000))


def test_cpmm_exact_out_follows_the_fact_sheet_formula() -> None:
    pool = CpPool("p", "cpmm", SOL, USDC, 30_000 * 10**9, 4_500_000 * 10**6, 10_000, 10**6,
                  120_000, 40_000)
    net = -(-30_000 * 10**9 * 150_000_000 // (4_500_000 * 10**6 - 150_000_000))
    assert pool.swap_in(SOL, 150_000_000, 0)[0] == -(-net * 10**6 // (10**6 - 10_000))


@pytest.mark.parametrize("pool_id", ["ray-sol-usdc", "met-sol-usdc"])
@pytest.mark.parametrize("mint_in", [SOL, USDC])
def test_the_input_an_exact_out_asks_for_buys_at_least_that_output_and_one_less_does_not(
        pool_id: str, mint_in: str) -> None:
    pool = seed_pool(pool_id)
    want = 150_000_000 if mint_in == SOL else 10**9  # 150 USDC, or 1 SOL
    cost, _ = pool.swap_in(mint_in, want, 1_000)
    assert pool.swap_out(mint_in, cost, 1_000)[0] >= want
    assert pool.swap_out(mint_in, cost - 1, 1_000)[0] <= want


def test_executing_an_exact_out_pays_exactly_the_output_and_moves_the_pool() -> None:
    pool = seed_pool("ray-sol-usdc")
    assert isinstance(pool, CpPool)
    cost = pool.swap_exact_out(SOL, 150_000_000, 0)
    assert cost == 1_002_539_685
    assert (pool.reserve_base, pool.reserve_quote) == (30_000 * 10**9 + cost,
                                                       4_500_000 * 10**6 - 150_000_000)


def test_dlmm_exact_out_across_bins_charges_each_bins_fee_on_top() -> None:
    bins = {i: [0, 1_000_000] for i in range(-9, 1)} | {i: [1_000_000, 0] for i in range(1, 11)}
    pool = DlmmPool("flat", "X", "Y", 10, 0, FeeParams(base_factor=10_000), bins)
    cost = pool.swap_exact_out("X", 2_500_000, now=1_000)
    assert pool.active_id == -2 and pool.bins[-2][1] == 500_000  # 2.5 bins of Y paid out
    assert 2_500_000 < cost < 2_600_000  # dearer bins and the fee on top


def test_an_exact_out_larger_than_the_pool_is_refused() -> None:
    with pytest.raises(InsufficientFunds):
        seed_pool("ray-sol-usdc").swap_in(SOL, 4_500_000 * 10**6, 0)
    with pytest.raises(InsufficientFunds):
        seed_pool("met-sol-usdc").swap_in(SOL, 10**18, 0)

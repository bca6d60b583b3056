"""Pool math against the fact sheet's worked examples and hand-computed figures."""

from __future__ import annotations

import pytest

from engine.domain.errors import InsufficientFunds
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool, FeeParams
from engine.simulator.pools import load_seed, meteora_pools, raydium_pools

SOL, USDC = "So11111111111111111111111111111111111111112", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
ONE_SOL = 10**9


def seed_pool(pool_id: str) -> CpPool | DlmmPool:
    seed = load_seed()
    pools: list[CpPool | DlmmPool] = [*raydium_pools(seed), *meteora_pools(seed)]
    return next(p for p in pools if p.id == pool_id)


def test_raydium_v4_one_sol_pays_the_fact_sheet_figure() -> None:
    pool = seed_pool("ray-sol-usdc")
    assert pool.swap_out(SOL, ONE_SOL, 0) == (149_620_025, 2_500_000)


def test_raydium_fee_rounds_up_and_output_rounds_down() -> None:
    pool = CpPool("p", "amm_v4", "A", "B", 1_000_000, 1_000_000, 25, 10_000)
    # The program's checked_ceil_div: a fee under half an atom (an input under 200 atoms at
    # 0.25 %) is none, as the AMM v4 binary before its 2025-08 fix charges; the 1-atom swap
    # still buys nothing.
    assert pool.swap_out("A", 1, 0) == (0, 0)
    assert pool.swap_out("A", 200, 0)[1] == 1
    # 401 in: fee ceil(1.0025) = 2, net 399, out floor(1e6 * 399 / 1000399) = 398.
    assert pool.swap_out("A", 401, 0) == (398, 2)


def test_raydium_swap_moves_reserves_so_the_next_trade_pays_less() -> None:
    pool = seed_pool("ray-sol-usdc")
    assert isinstance(pool, CpPool)
    first = pool.swap(SOL, 1000 * ONE_SOL, 0)
    assert (pool.reserve_base, pool.reserve_quote) == (31_000 * ONE_SOL, 4_500_000_000_000 - first)
    assert pool.swap_out(SOL, 1000 * ONE_SOL, 0)[0] < first


def test_cpmm_keeps_protocol_and_fund_fees_outside_the_curve() -> None:
    pool = CpPool("p", "cpmm", SOL, USDC, 30_000 * ONE_SOL, 4_500_000_000_000, 2_500, 10**6,
                  120_000, 40_000)
    out = pool.swap(SOL, ONE_SOL, 0)
    assert out == 149_620_025
    # trade fee 2,500,000: protocol 300,000 and fund 100,000 leave; the LP share stays.
    assert pool.reserve_base == 30_000 * ONE_SOL + ONE_SOL - 300_000 - 100_000


def test_meteora_one_sol_inside_the_active_bin_pays_the_fact_sheet_figure() -> None:
    pool = seed_pool("met-sol-usdc")
    assert pool.swap_out(SOL, ONE_SOL, 0) == (149_924_917, 400_000)


def flat_pool(bin_step: int = 10, per_bin: int = 1_000_000) -> DlmmPool:
    """A pool at price 1 (bin 0) with `per_bin` of Y in bins 0..-9 and X in bins 1..10."""
    bins = {i: [0, per_bin] for i in range(-9, 1)} | {i: [per_bin, 0] for i in range(1, 11)}
    return DlmmPool("flat", "X", "Y", bin_step, 0, FeeParams(base_factor=10_000), bins)


def test_a_swap_bigger_than_the_active_bin_crosses_into_the_next_ones() -> None:
    pool = flat_pool()
    out = pool.swap("X", 2_500_000, now=1_000)
    assert pool.active_id == -2  # bins 0 and -1 emptied, the swap ended in -2
    assert pool.bins[0][1] == 0 and pool.bins[-1][1] == 0 and 0 < pool.bins[-2][1] < 1_000_000
    # Prices fall by 0.1 % per bin, and fees apply: less than 2.5 M out, but close.
    assert 2_400_000 < out < 2_500_000


def test_variable_fee_matches_the_fact_sheet_examples_and_is_capped() -> None:
    assert flat_pool(bin_step=10).variable_fee_rate(5 * 10_000) == 100_000  # 0.01 %
    assert flat_pool(bin_step=25).variable_fee_rate(10 * 10_000) == 2_500_000  # 0.25 %
    assert flat_pool(bin_step=50).variable_fee_rate(10 * 10_000) == 10_000_000  # 1 %
    assert flat_pool(bin_step=100).fee_rate(350_000) == 100_000_000  # 10 % cap


def test_fees_grow_after_volatility_and_decay_with_time() -> None:
    calm = flat_pool()
    _, calm_fee = calm.swap_out("X", 100_000, now=1_000)
    busy = flat_pool()
    busy.swap("X", 3_500_000, now=1_000)  # crosses 3 bins: volatility accumulates
    _, busy_fee = busy.swap_out("X", 100_000, now=1_010)
    _, rested_fee = busy.swap_out("X", 100_000, now=1_000 + 700)  # past the decay period
    assert calm_fee == 100  # base fee 0.1 % on 100,000
    assert busy_fee > calm_fee
    assert rested_fee == calm_fee


def test_a_swap_beyond_all_bins_is_refused() -> None:
    with pytest.raises(InsufficientFunds):
        flat_pool().swap_out("X", 10**12, now=0)

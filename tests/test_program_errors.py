"""The program errors the engine maps, as the programs themselves raise them: a minimum out that
cannot be met (or a maximum in) is each program's slippage error, and a wallet short of the input
is an insufficient-funds error, whichever program finds it first."""

from __future__ import annotations

from pathlib import Path

import pytest
from solders.keypair import Keypair

from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool, FeeParams
from engine.simulator.pools import build_bins
from engine.solana.instructions import Swap
from engine.solana.programs import EXCEEDED_MAXIMUM_IN, EXCEEDED_SLIPPAGE, PROGRAMS, PoolInfo
from engine.solana_client.rpc_errors import error_code
from engine.svm.pools import Trader, place, read
from engine.svm.runtime import Runtime

U64_MAX = 2**64 - 1


def a_pool(kind: str) -> tuple[CpPool | DlmmPool, PoolInfo]:
    x, y = str(Keypair().pubkey()), str(Keypair().pubkey())
    if kind == "dlmm":
        bins = build_bins({"shape": "spot", "binsEachSide": 10, "depthX": 10**12,
                           "depthY": 10**12}, 0)
        pair = DlmmPool("p", x, y, 10, 0, FeeParams(base_factor=10_000), bins)
        return pair, PoolInfo("p", "dlmm", x, y, active_bin=0, bin_step=10)
    fee, den = (25, 10_000) if kind == "amm_v4" else (2_500, 10**6)
    pool = CpPool("p", kind, x, y, 10**12, 10**12, fee, den)
    return pool, PoolInfo("p", kind, x, y, fee)


def swap(trader: Trader, info: PoolInfo, amount: int, threshold: int, exact_out: bool) -> Swap:
    keys = info.keys
    return Swap(keys, keys.mint_a, keys.mint_b, amount, threshold, exact_out,
                (0, -1) if info.kind == "dlmm" else ())


@pytest.mark.parametrize("kind", ["amm_v4", "cpmm", "dlmm"])
@pytest.mark.parametrize("exact_out", [False, True])
def test_a_bound_that_cannot_be_met_is_the_programs_slippage_error(
        programs: Path, kind: str, exact_out: bool) -> None:
    runtime = Runtime(programs, [PROGRAMS[kind]])
    pool, info = a_pool(kind)
    place(runtime, info, pool, {info.mint_a: 6, info.mint_b: 6})
    trader = Trader.funded(runtime)
    trader.give(info.keys.mint_a, 10**15)
    model = read(runtime, info)
    if exact_out:
        paid, _ = model.swap_in(info.mint_a, 10**6, runtime.now())
        outcome = trader.swap(swap(trader, info, 10**6, paid - 1, True))
    else:
        out, _ = model.swap_out(info.mint_a, 10**6, runtime.now())
        outcome = trader.swap(swap(trader, info, 10**6, out + 1, False))
    assert outcome.custom_error() == (EXCEEDED_MAXIMUM_IN if exact_out else EXCEEDED_SLIPPAGE)[kind]
    assert error_code({"InstructionError": [2, {"Custom": outcome.custom_error()}]}) == \
        "SLIPPAGE_EXCEEDED"


@pytest.mark.parametrize("kind", ["amm_v4", "cpmm", "dlmm"])
def test_a_wallet_short_of_the_input_is_insufficient_funds(programs: Path, kind: str) -> None:
    runtime = Runtime(programs, [PROGRAMS[kind]])
    pool, info = a_pool(kind)
    place(runtime, info, pool, {info.mint_a: 6, info.mint_b: 6})
    trader = Trader.funded(runtime)
    trader.give(info.keys.mint_a, 10**5)
    outcome = trader.swap(swap(trader, info, 10**6, 0, False))
    assert not outcome.ok
    custom = outcome.custom_error()
    assert error_code({"InstructionError": [2, {"Custom": custom}]}) == "INSUFFICIENT_FUNDS", \
        (custom, outcome.logs[-4:])

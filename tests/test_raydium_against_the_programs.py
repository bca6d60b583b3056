"""Raydium CPMM and AMM v4, each judged by its own bytecode: seeded random swaps (both
directions, exact in and exact out, one atom to most of a reserve, sequences that build on each
other) executed by the program and quoted by the engine from the accounts just before. Every
amount must agree to the atom, and so must the pool the engine reads back afterwards."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from differential import Tally
from solders.keypair import Keypair

from engine.domain.errors import InsufficientFunds
from engine.pools.cpmm import CpPool
from engine.solana.instructions import Swap
from engine.solana.programs import CPMM_FEE_TIERS, PROGRAMS, PoolInfo
from engine.svm.pools import Trader, place, read
from engine.svm.runtime import NATIVE_MINT, Runtime

POOLS, SWAPS = 16, 160  # 2,560 swaps


def random_pool(rng: random.Random, n: int,
                program: str) -> tuple[CpPool, PoolInfo, dict[str, int]]:
    mints = [str(Keypair().pubkey()) for _ in range(2)]
    if n % 4 == 0:
        mints[0] = str(NATIVE_MINT)  # a native (wSOL) vault
    decimals = {mints[0]: rng.choice([6, 9]), mints[1]: rng.choice([0, 6, 9])}
    reserves = [rng.randint(10**3, 10**15) if rng.random() < 0.3 else
                int(10 ** rng.uniform(6, 13)) for _ in range(2)]
    if program == "amm_v4":
        fee, den = rng.choice([(25, 10_000), (30, 10_000), (1, 100)])
        pool = CpPool(f"amm-{n}", "amm_v4", mints[0], mints[1], reserves[0], reserves[1], fee,
                      den)
    else:
        fee, den = rng.choice(CPMM_FEE_TIERS), 10**6
        pool = CpPool(f"cpmm-{n}", "cpmm", mints[0], mints[1], reserves[0], reserves[1], fee,
                      den, rng.choice([0, 120_000, 250_000]), rng.choice([0, 40_000]))
    return pool, PoolInfo(pool.id, program, mints[0], mints[1], fee), decimals


def amount(rng: random.Random, ceiling: int) -> int:
    """From one atom to `ceiling`, spread over the orders of magnitude."""
    return max(1, min(ceiling, int(10 ** rng.uniform(0, max(0.0, len(str(ceiling)) - 0.5)))))


@pytest.mark.parametrize("program", ["cpmm", "amm_v4"])
def test_every_swap_equals_the_programs_to_the_atom(programs: Path, program: str) -> None:
    rng = random.Random(21)
    tally = Tally()
    for n in range(POOLS):
        runtime = Runtime(programs, [PROGRAMS[program]])
        pool, info, decimals = random_pool(rng, n, program)
        place(runtime, info, pool, decimals)
        keys = info.keys
        trader = Trader.funded(runtime)
        for step in range(SWAPS):
            model = read(runtime, info)
            assert isinstance(model, CpPool)
            mint_in, mint_out = ((keys.mint_a, keys.mint_b) if rng.random() < 0.5
                                 else (keys.mint_b, keys.mint_a))
            r_in, r_out = model.reserves(str(mint_in))
            exact_out = rng.random() < 0.5
            asked = amount(rng, r_out * 9 // 10 if exact_out else r_in * 2)
            try:
                if exact_out:
                    paid, _ = model.swap_in(str(mint_in), asked)
                    expected: tuple[int, int] | None = (paid, asked)
                else:
                    out, _ = model.swap_out(str(mint_in), asked)
                    expected = (asked, out) if 0 < out < r_out else None
            except InsufficientFunds:
                expected = None
            where = f"pool {n} swap {step} ({'out' if exact_out else 'in'} {asked})"
            swap = Swap(keys, mint_in, mint_out, asked, 0, exact_out)
            if not tally.amounts_agree(trader, swap, expected, where):
                continue
            if exact_out:
                model.swap_exact_out(str(mint_in), asked)
            else:
                model.swap(str(mint_in), asked)
            after = read(runtime, info)
            if after != model:
                tally.differences.append(f"{where}: the pool read back {after.state()}, the "
                                         f"engine's model {model.state()}")
                break
    tally.verdict(program, int(POOLS * SWAPS * 0.8))

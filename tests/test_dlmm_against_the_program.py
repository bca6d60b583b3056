"""Meteora DLMM, judged by its own bytecode: seeded random swaps (both directions, exact in and
exact out, inside one bin and across bins and bin arrays, tiny and huge, with time passing so
the fee ramps up after volatility and decays) executed by the program and quoted by the engine
from the accounts just before. Amounts must agree to the atom, and so must the pool read back."""

from __future__ import annotations

import random
from pathlib import Path

from differential import Tally
from solders.keypair import Keypair

from engine.domain.errors import InsufficientFunds
from engine.pools.dlmm import DlmmPool, FeeParams
from engine.simulator.pools import build_bins
from engine.solana.instructions import Swap
from engine.solana.programs import DLMM, PoolInfo, bin_array_index
from engine.svm.pools import Trader, place, read
from engine.svm.runtime import NATIVE_MINT, Runtime

POOLS, SWAPS = 14, 150  # 2,100 swaps
START = 1_750_000_000


def random_pair(rng: random.Random, n: int) -> tuple[DlmmPool, PoolInfo, dict[str, int]]:
    mints = [str(Keypair().pubkey()) for _ in range(2)]
    if n % 4 == 1:
        mints[1] = str(NATIVE_MINT)
    decimals = {mints[0]: rng.choice([6, 9]), mints[1]: rng.choice([6, 9])}
    bin_step = rng.choice([1, 5, 10, 20, 25, 80, 100])
    active = rng.randint(-300, 300) * (100 // bin_step if bin_step < 100 else 1)
    spec = {"shape": rng.choice(["spot", "curve", "bidAsk"]),
            "binsEachSide": rng.choice([3, 30, 90]),
            "depthX": int(10 ** rng.uniform(6, 13)), "depthY": int(10 ** rng.uniform(6, 13))}
    fees = FeeParams(base_factor=rng.choice([5_000, 8_000, 10_000, 20_000]),
                     filter_period=rng.choice([10, 30]), decay_period=rng.choice([120, 600]),
                     reduction_factor=rng.choice([5_000, 8_000]),
                     variable_fee_control=rng.choice([7_500, 40_000, 120_000]),
                     max_volatility_accumulator=rng.choice([150_000, 350_000]))
    pair = DlmmPool(f"dlmm-{n}", mints[0], mints[1], bin_step, active, fees,
                    build_bins(spec, active), index_reference=active, last_update=START)
    info = PoolInfo(pair.id, "dlmm", mints[0], mints[1], active_bin=active, bin_step=bin_step)
    return pair, info, decimals


def arrays_crossed(pair: DlmmPool, x_in: bool) -> tuple[int, ...]:
    """The bin arrays a swap may cross, from the active one in the swap's direction."""
    start = bin_array_index(pair.active_id)
    held = {bin_array_index(b) for b, amounts in pair.bins.items() if any(amounts)}
    ahead = sorted((i for i in held if (i <= start if x_in else i >= start)), reverse=x_in)
    return tuple(dict.fromkeys([start, *ahead]))


def amount(rng: random.Random, depth: int) -> int:
    return max(1, int(10 ** rng.uniform(0, max(0.5, len(str(max(depth, 1))) - 0.3))))


def test_every_dlmm_swap_equals_the_programs_to_the_atom(programs: Path) -> None:
    rng = random.Random(22)
    tally = Tally()
    for n in range(POOLS):
        runtime = Runtime(programs, [DLMM])
        pair, info, decimals = random_pair(rng, n)
        runtime.set_time(START, slot=1_000)
        place(runtime, info, pair, decimals)
        keys = info.keys
        trader = Trader.funded(runtime)
        now = START
        for step in range(SWAPS):
            now += rng.choice([0, 0, 1, 5, 20, 90, 400, 900])
            runtime.set_time(now, slot=1_000 + step)
            model = read(runtime, info)
            assert isinstance(model, DlmmPool)
            x_in = rng.random() < 0.5
            mint_in, mint_out = (keys.mint_a, keys.mint_b) if x_in else (keys.mint_b, keys.mint_a)
            exact_out = rng.random() < 0.5
            depth = model.depth(str(mint_out)) if exact_out else model.depth(str(mint_in))
            asked = amount(rng, depth)
            try:
                if exact_out:
                    paid, _ = model.swap_in(str(mint_in), asked, now)
                    expected: tuple[int, int] | None = (paid, asked)
                else:
                    out, _ = model.swap_out(str(mint_in), asked, now)
                    expected = (asked, out) if out > 0 else None
            except InsufficientFunds:
                expected = None
            where = f"pair {n} swap {step} ({'out' if exact_out else 'in'} {asked})"
            swap = Swap(keys, mint_in, mint_out, asked, 0, exact_out,
                        arrays_crossed(model, x_in))
            if not tally.amounts_agree(trader, swap, expected, where):
                continue
            if exact_out:
                model.swap_exact_out(str(mint_in), asked, now)
            else:
                model.swap(str(mint_in), asked, now)
            after = read(runtime, info)
            assert isinstance(after, DlmmPool)
            if _state(after) != _state(model):
                tally.differences.append(f"{where}: the pair read back differs: "
                                         f"{_diff(after, model)}")
    tally.verdict("DLMM", int(POOLS * SWAPS * 0.7))


def _state(pair: DlmmPool) -> tuple[object, ...]:
    bins = {i: tuple(b) for i, b in pair.bins.items() if any(b)}
    return (bins, pair.active_id, pair.volatility_accumulator, pair.volatility_reference,
            pair.index_reference, pair.last_update)


def _diff(after: DlmmPool, model: DlmmPool) -> str:
    a, m = _state(after), _state(model)
    names = ("bins", "active", "va", "vr", "iref", "last_update")
    parts = []
    for name, x, y in zip(names, a, m, strict=True):
        if x != y:
            if name == "bins":
                assert isinstance(x, dict) and isinstance(y, dict)
                keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))[:3]
                parts.append("bins " + ", ".join(f"{k}: {x.get(k)} vs {y.get(k)}" for k in keys))
            else:
                parts.append(f"{name} {x} vs {y}")
    return "; ".join(parts)

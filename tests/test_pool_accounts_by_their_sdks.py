"""Every pool account the cluster serves, decoded by the decoders the programs' maintainers
publish (npm): Raydium's SDK layouts for AMM v4's AmmInfo and CPMM's PoolState and AmmConfig,
and Meteora's DLMM IDL through Anchor's account coder for LbPair, BinArray, Oracle and
PresetParameter (tests/web3/decode.mjs). What they read must be what the market holds: the
mints, vaults, fees, active bins and liquidity, at the addresses the programs derive. Only
CPMM's ObservationState has no published decoder here; its bytes are checked against the
program's bytecode instead (tests/test_raydium_against_the_programs.py)."""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey

from engine.clock import SystemClock
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool
from engine.simulator.genesis import open_world
from engine.simulator.world import SimWorld
from engine.solana.pool_accounts import LOCKED_LP, MAX_BIN_ID, POOL_CREATOR, PROTOCOL_SHARE
from engine.solana.programs import (
    AMM_V4,
    DLMM,
    dlmm_pair_address,
    pda,
    pda_bump,
    preset_parameter_address,
)
from engine.testing.cluster import standalone_cluster, wallet_for

HERE = Path(__file__).parent / "web3"
NODE = shutil.which("node")
INSTALLED = all((HERE / "node_modules" / package).exists() for package in (
    "@meteora-ag/dlmm", "@raydium-io/raydium-sdk-v2", "@coral-xyz/anchor"))
if not (NODE and INSTALLED):
    if os.environ.get("CI_REQUIRE_WEB3"):
        raise RuntimeError("the SDKs are required in CI: npm ci --prefix tests/web3")
    pytest.skip("no node or SDKs here (npm ci --prefix tests/web3); CI installs them",
                allow_module_level=True)


@pytest.fixture(scope="module", params=["model", "bytecode"])
def decoded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[SimWorld, dict[str, list[dict[str, Any]]]]:
    """The market after some trading, and what the SDKs decode of its accounts (once for
    every test here: decoding is a Node process)."""
    programs = request.getfixturevalue("programs") if request.param == "bytecode" else None
    world = open_world(SystemClock(), seed=3, latency_scale=0, failure_rate=0,
                       funded=wallet_for(tmp_path_factory.mktemp("sdk") / "wallet.json"),
                       programs=str(programs) if programs else None)
    for slot in range(5):  # other traders move every pool's state off its genesis
        world.trade(1_764_000_000 + slot)

    async def decode() -> dict[str, Any]:
        try:
            async with standalone_cluster(world) as url:
                done = await asyncio.to_thread(subprocess.run, [NODE or "node", "decode.mjs",
                                                                url], cwd=HERE,
                                               capture_output=True, text=True, timeout=120)
        finally:
            await world.chain.close()
        assert done.returncode == 0, done.stderr[-2000:]
        return dict(json.loads(done.stdout))

    found = asyncio.run(decode())
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for account in found["decoded"]:
        by_type[account["type"]].append(account)
    by_type["undecoded"] = found["undecoded"]
    return world, by_type


def pools(world: SimWorld, kind: str) -> dict[str, Any]:
    """Each pool of that program by its account's address: (its info, its state)."""
    out = {}
    for venue in world.venues:
        for pool_id in venue.pools:
            info = world.pool_info(pool_id)
            if info.kind == kind:
                out[str(info.keys.address)] = (info, world.pool(pool_id))
    return out


def test_raydium_sdk_reads_every_amm_v4_pool_as_the_market_holds_it(decoded: Any) -> None:
    world, found = decoded
    expected = pools(world, "amm_v4")
    assert {a["address"] for a in found["AmmInfo"]} == set(expected)
    authority_bump = pda_bump(AMM_V4, b"amm authority")[1]
    for account in found["AmmInfo"]:
        info, pool = expected[account["address"]]
        keys = info.keys
        assert isinstance(pool, CpPool)
        assert (account["baseMint"], account["quoteMint"]) == (str(keys.mint_a), str(keys.mint_b))
        assert (account["baseVault"], account["quoteVault"]) == (str(keys.vault_a),
                                                                 str(keys.vault_b))
        assert (int(account["swapFeeNumerator"]), int(account["swapFeeDenominator"])) == (
            pool.fee_num, pool.fee_den)
        assert (account["status"], int(account["nonce"])) == ("6", authority_bump)


def test_raydium_sdk_reads_every_cpmm_pool_and_its_config(decoded: Any) -> None:
    world, found = decoded
    expected = pools(world, "cpmm")
    assert {a["address"] for a in found["PoolState"]} == set(expected)
    configs = {a["address"]: a for a in found["AmmConfig"]}
    for account in found["PoolState"]:
        info, pool = expected[account["address"]]
        keys = info.keys
        assert isinstance(pool, CpPool)
        token_0, token_1 = sorted((keys.mint_a, keys.mint_b), key=bytes)
        assert (account["mintA"], account["mintB"]) == (str(token_0), str(token_1))
        assert (account["vaultA"], account["vaultB"]) == (str(keys.vault(token_0)),
                                                          str(keys.vault(token_1)))
        assert account["observationId"] == str(keys.observation)
        assert account["mintLp"] == str(pda(keys.program, b"pool_lp_mint", bytes(keys.address)))
        assert account["poolCreator"] == str(POOL_CREATOR)
        assert int(account["lpAmount"]) > 0
        config = configs[account["configId"]]
        assert int(config["tradeFeeRate"]) == pool.fee_num
        assert (int(config["protocolFeeRate"]), int(config["fundFeeRate"])) == (
            pool.protocol_rate, pool.fund_rate)
    # The only accounts no published decoder reads: each pool's ObservationState.
    assert {a["address"] for a in found["undecoded"]} == {
        str(info.keys.observation) for info, _ in expected.values()}


def test_lp_supply_is_what_the_first_deposit_minted_and_swaps_leave_alone(decoded: Any) -> None:
    world, found = decoded
    expected = pools(world, "cpmm")
    moved = 0
    for account in found["PoolState"]:
        _, pool = expected[account["address"]]
        assert int(account["lpAmount"]) == pool.lp_supply - LOCKED_LP  # the program locks 100
        moved += math.isqrt(pool.reserve_base * pool.reserve_quote) != pool.lp_supply
    assert moved  # the other traders' swaps moved the reserves, not the supply


def test_meteoras_idl_reads_every_pair_at_its_derived_address(decoded: Any) -> None:
    world, found = decoded
    expected = pools(world, "dlmm")
    assert {a["address"] for a in found["LbPair"]} == set(expected)
    oracles = {a["address"] for a in found["Oracle"]}
    for account in found["LbPair"]:
        info, pair = expected[account["address"]]
        keys = info.keys
        assert isinstance(pair, DlmmPool)
        address, bump = dlmm_pair_address(keys.mint_a, keys.mint_b, pair.bin_step)
        assert (account["address"], int(account["bump"])) == (str(address), bump)
        assert (int(account["activeId"]), int(account["binStep"])) == (pair.active_id,
                                                                       pair.bin_step)
        assert (account["tokenXMint"], account["tokenYMint"]) == (pair.token_x, pair.token_y)
        assert (account["reserveX"], account["reserveY"]) == (
            str(pda(DLMM, bytes(address), bytes(keys.mint_a))),
            str(pda(DLMM, bytes(address), bytes(keys.mint_b))))
        assert account["oracle"] == str(pda(DLMM, b"oracle", bytes(address))) and \
            account["oracle"] in oracles
        assert (int(account["baseFactor"]), int(account["protocolShare"])) == (
            pair.fees.base_factor, PROTOCOL_SHARE)
        assert (int(account["minBinId"]), int(account["maxBinId"])) == (
            -(MAX_BIN_ID // pair.bin_step), MAX_BIN_ID // pair.bin_step)


def test_the_bin_arrays_hold_every_pairs_liquidity(decoded: Any) -> None:
    world, found = decoded
    expected = pools(world, "dlmm")
    held: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for array in found["BinArray"]:
        held[array["lbPair"]][0] += int(array["amountX"])
        held[array["lbPair"]][1] += int(array["amountY"])
    for address, (_, pair) in expected.items():
        assert held[address] == [sum(x for x, _ in pair.bins.values()),
                                 sum(y for _, y in pair.bins.values())]


def test_each_pairs_preset_parameter_is_where_the_program_looks(decoded: Any) -> None:
    world, found = decoded
    presets = {a["address"]: a for a in found["PresetParameter"]}
    for _, pair in pools(world, "dlmm").values():
        preset = presets[str(preset_parameter_address(pair.bin_step, pair.fees.base_factor))]
        assert (int(preset["binStep"]), int(preset["baseFactor"]),
                int(preset["protocolShare"])) == (pair.bin_step, pair.fees.base_factor,
                                                  PROTOCOL_SHARE)


def test_no_address_is_served_twice(decoded: Any) -> None:
    _, found = decoded
    addresses = [a["address"] for kind in found.values() for a in kind]
    assert len(addresses) == len(set(addresses))
    assert all(Pubkey.from_string(a) for a in addresses)

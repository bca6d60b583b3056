"""Quotes from on-chain state: pools as accounts in the programs' layouts, read over JSON-RPC.

The bytes here are built by hand from the layout table of ../shared/market/wire.md, with
`struct` and offsets, not with the engine's encoder; the engine's decoder must read them."""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from solders.pubkey import Pubkey

from engine.pools.dlmm import bin_price_q64
from engine.simulator.world import SimWorld
from engine.solana.pool_reading import read_pool, related
from engine.solana.programs import AMM_V4, CPMM, DLMM, TOKEN
from engine.testing import EngineHarness
from engine.testing.cluster import standalone_cluster, still_world, wallet_for
from engine.testing.process import ClusterProcess, EngineProcess

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def key(n: int) -> Pubkey:
    return Pubkey(bytes([n]) * 32)


def token_account(mint: Pubkey, owner: Pubkey, amount: int) -> bytes:
    data = bytearray(165)  # mint 0..32, owner 32..64, amount 64..72, state at 108
    data[0:32], data[32:64] = bytes(mint), bytes(owner)
    struct.pack_into("<Q", data, 64, amount)
    data[108] = 1
    return bytes(data)


def test_an_amm_v4_pool_built_from_the_layout_table_decodes_to_its_reserves_and_fee() -> None:
    data = bytearray(752)
    u64 = {"nonce": 1, "coin_decimals": 4, "pc_decimals": 5, "swap_fee_numerator": 22,
           "swap_fee_denominator": 23, "need_take_pnl_coin": 24, "need_take_pnl_pc": 25}
    for name, index in u64.items():  # the index of each u64 among the leading 29 fields
        struct.pack_into("<Q", data, index * 8, {"nonce": 254, "coin_decimals": 9,
                                                 "pc_decimals": 6, "swap_fee_numerator": 25,
                                                 "swap_fee_denominator": 10_000,
                                                 "need_take_pnl_coin": 7,
                                                 "need_take_pnl_pc": 11}[name])
    # 29 u64, 16 of padding, one u64, u128 u128 u64 u128 u128 u64: the pubkeys start at 336.
    coin_vault, pc_vault = key(1), key(2)
    for n, pubkey in enumerate((coin_vault, pc_vault, Pubkey.from_string(SOL),
                                Pubkey.from_string(USDC))):
        data[336 + 32 * n: 368 + 32 * n] = bytes(pubkey)
    nonce = Pubkey.find_program_address([b"amm authority"], AMM_V4)[1]
    struct.pack_into("<Q", data, 8, nonce)
    accounts = {coin_vault: token_account(Pubkey.from_string(SOL), key(9), 30_000 * 10**9 + 7),
                pc_vault: token_account(Pubkey.from_string(USDC), key(9), 4_500_000 * 10**6 + 11)}
    address = key(3)
    assert related(AMM_V4, address, bytes(data)) == [coin_vault, pc_vault]
    pool, info, _ = read_pool(str(address), AMM_V4, address, bytes(data), accounts)
    assert (pool.reserve_base, pool.reserve_quote) == (30_000 * 10**9, 4_500_000 * 10**6)
    assert (pool.fee_num, pool.fee_den) == (25, 10_000)
    assert pool.swap_out(SOL, 10**9, 0) == (149_620_025, 2_500_000)  # the worked example
    assert info.keys.vault_a == coin_vault and info.keys.address == address


def test_a_cpmm_pool_and_its_config_decode_to_reserves_net_of_fees_owed() -> None:
    state = bytearray(637)
    state[:8] = bytes([247, 237, 227, 245, 215, 195, 222, 70])
    config_key, vault0, vault1 = key(4), key(5), key(6)
    mint0, mint1 = sorted((Pubkey.from_string(SOL), Pubkey.from_string(USDC)), key=bytes)
    fields = [config_key, key(7), vault0, vault1, key(8), mint0, mint1, TOKEN, TOKEN, key(10)]
    for n, pubkey in enumerate(fields):
        state[8 + 32 * n: 40 + 32 * n] = bytes(pubkey)
    # five u8 at 328..333, then lp_supply and the fees owed, packed (unaligned) from 333
    struct.pack_into("<QQQQQ", state, 333, 0, 100, 200, 300, 400)
    config = bytearray(236)
    config[:8] = bytes([218, 244, 33, 104, 203, 203, 43, 111])
    struct.pack_into("<QQQ", config, 12, 2_500, 120_000, 40_000)  # after bump, bool, u16
    r0, r1 = (30_000 * 10**9, 4_500_000 * 10**6) if str(mint0) == SOL else (
        4_500_000 * 10**6, 30_000 * 10**9)
    accounts = {config_key: bytes(config), vault0: token_account(mint0, key(9), r0 + 100 + 300),
                vault1: token_account(mint1, key(9), r1 + 200 + 400)}
    address = key(11)
    assert related(CPMM, address, bytes(state)) == [vault0, vault1, config_key]
    pool, _, _ = read_pool(str(address), CPMM, address, bytes(state), accounts)
    assert (pool.reserve_base, pool.reserve_quote) == (r0, r1)
    assert (pool.fee_num, pool.protocol_rate, pool.fund_rate) == (2_500, 120_000, 40_000)
    assert pool.swap_out(SOL, 10**9, 0)[0] == 149_620_025


def lb_pair(active: int, bin_step: int, reserve_x: Pubkey, reserve_y: Pubkey,
            arrays: list[int]) -> bytes:
    data = bytearray(904)
    data[:8] = bytes([33, 11, 49, 98, 181, 101, 177, 13])
    struct.pack_into("<HHHHIIii", data, 8, 10_000, 30, 600, 5_000, 40_000, 350_000, -443636,
                     443636)  # StaticParameters from 8
    struct.pack_into("<i", data, 48, active)  # VariableParameters from 40: index_reference
    struct.pack_into("<i", data, 76, active)  # after the 32 + 32 parameter bytes and 4 seeds
    struct.pack_into("<H", data, 80, bin_step)
    for n, pubkey in enumerate((Pubkey.from_string(SOL), Pubkey.from_string(USDC),
                                reserve_x, reserve_y)):
        data[88 + 32 * n: 120 + 32 * n] = bytes(pubkey)
    data[552:584] = bytes(key(12))  # oracle, after protocol_fee, padding and reward_infos
    for index in arrays:  # bin_array_bitmap: [u64; 16] at 584, bit (index + 512)
        bit = index + 512
        word = 584 + 8 * (bit // 64)
        struct.pack_into("<Q", data, word, struct.unpack_from("<Q", data, word)[0]
                         | 1 << (bit % 64))
    return bytes(data)


def bin_array(index: int, pair: Pubkey, bins: dict[int, tuple[int, int]],
              bin_step: int) -> bytes:
    data = bytearray(10_136)
    data[:8] = bytes([92, 142, 92, 220, 5, 148, 70, 181])
    struct.pack_into("<q", data, 8, index)
    data[24:56] = bytes(pair)
    for n in range(70):
        bin_id = index * 70 + n
        x, y = bins.get(bin_id, (0, 0))
        at = 56 + 144 * n  # each Bin is 144 bytes: amount_x, amount_y, price u128, ...
        struct.pack_into("<QQ", data, at, x, y)
        data[at + 16: at + 32] = bin_price_q64(bin_step, bin_id).to_bytes(16, "little")
    return bytes(data)


def test_a_dlmm_pair_and_its_bin_arrays_decode_to_the_active_bin_and_every_bin() -> None:
    address, rx, ry = key(13), key(14), key(15)
    active = -4744  # the fact sheet's pair: bin step 4
    bins = {active: (10 * 10**9, 1_500 * 10**6), active + 1: (20 * 10**9, 0),
            active - 1: (0, 3_000 * 10**6), active - 70: (0, 5 * 10**6)}
    arrays = sorted({b // 70 for b in bins})
    data = lb_pair(active, 4, rx, ry, arrays)
    pair_key = read_pool(str(address), DLMM, address, data, {})[1].keys
    accounts = {pair_key.bin_array(i): bin_array(i, address, bins, 4) for i in arrays}
    assert related(DLMM, address, data) == [pair_key.bin_array(i) for i in arrays]
    pool, info, _ = read_pool(str(address), DLMM, address, data, accounts)
    assert pool.active_id == active and pool.bin_step == 4 and info.active_bin == active
    assert pool.bins == {b: list(v) for b, v in bins.items()}
    assert pool.fees.base_factor == 10_000 and pool.base_fee_rate() == 400_000  # 0.04 %
    assert pool.swap_out(SOL, 10**9, 0)[0] == 149_924_917  # the worked example
    assert info.keys.config == key(12)  # the oracle


def test_a_bin_array_read_again_with_new_bytes_gives_its_new_bins() -> None:
    # Decoded arrays are remembered, one entry an array address: what is remembered must be
    # what these bytes hold, never an older version of the same array.
    address, rx, ry = key(16), key(17), key(18)
    active = -4744
    data = lb_pair(active, 4, rx, ry, [active // 70])
    array = read_pool(str(address), DLMM, address, data, {})[1].keys.bin_array(active // 70)
    for amounts in ((10 * 10**9, 1_500 * 10**6), (9 * 10**9, 1_650 * 10**6),
                    (10 * 10**9, 1_500 * 10**6)):
        accounts = {array: bin_array(active // 70, address, {active: amounts}, 4)}
        pool, _, _ = read_pool(str(address), DLMM, address, data, accounts)
        assert pool.bins == {active: list(amounts)}


@pytest_asyncio.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[SimWorld, str]]:
    world = still_world(tmp_path / "cluster.db",
                        funded=wallet_for(tmp_path / "wallet.json"))
    async with standalone_cluster(world) as url:
        yield world, url


async def call(url: str, method: str, *params: Any) -> Any:
    async with aiohttp.ClientSession() as session, session.post(url, json={
            "jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}) as resp:
        return (await resp.json())["result"]


async def test_the_worked_examples_hold_from_account_bytes_served_over_http(
        cluster: tuple[SimWorld, str]) -> None:
    world, url = cluster
    for pool_id, owner, expected in (("ray-sol-usdc", AMM_V4, 149_620_025),
                                     ("met-sol-usdc", DLMM, 149_924_917)):
        address = world.pool_info(pool_id).keys.address
        [main] = (await call(url, "getMultipleAccounts", [str(address)],
                             {"encoding": "base64"}))["value"]
        assert main["owner"] == str(owner)
        data = base64.b64decode(main["data"][0])
        needed = related(owner, address, data)
        found = (await call(url, "getMultipleAccounts", [str(a) for a in needed],
                            {"encoding": "base64"}))["value"]
        accounts = {a: base64.b64decode(f["data"][0]) for a, f in zip(needed, found,
                                                                      strict=True)}
        pool, _, _ = read_pool(str(address), owner, address, data, accounts)
        assert pool.swap_out(SOL, 10**9, world.chain.now())[0] == expected


async def test_get_program_accounts_filters_by_size_and_bytes(
        cluster: tuple[SimWorld, str]) -> None:
    world, url = cluster
    pairs = await call(url, "getProgramAccounts", str(DLMM), {
        "encoding": "base64", "filters": [{"dataSize": 904}]})
    assert len(pairs) == len(world.meteora.pools)
    pair = world.pool_info("met-sol-usdc").keys.address
    arrays = await call(url, "getProgramAccounts", str(DLMM), {
        "encoding": "base64", "filters": [{"dataSize": 10_136},
                                          {"memcmp": {"offset": 24, "bytes": str(pair)}}]})
    assert arrays and all(base64.b64decode(a["account"]["data"][0])[24:56] == bytes(pair)
                          for a in arrays)


@pytest_asyncio.fixture
async def remote(cluster: tuple[SimWorld, str], tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with EngineHarness.start(tmp_path / "e.db", rpc_url=cluster[1]) as engine:
        yield engine


async def test_quotes_come_from_the_accounts_with_the_slot_they_were_read_at(
        remote: EngineHarness, cluster: tuple[SimWorld, str]) -> None:
    world, _ = cluster
    assert remote.http is not None
    async with remote.http.get("/api/quotes", params={
            "inputMint": "SOL", "outputMint": "USDC", "amount": str(10**9)}) as resp:
        quote = await resp.json()
    outs = {q["pool"]: int(q["outAmount"]) for q in quote["alternatives"]}
    assert outs[str(world.pool_info("met-sol-usdc").keys.address)] == 149_924_917
    assert quote["contextSlot"] == world.chain.block_height


async def subscribed(world: SimWorld, at_least: int) -> bool:
    """Whether the cluster comes to hold this many of the engine's subscriptions (it makes
    them one after the other, in the background)."""
    async def count() -> int:
        return world.rpc.subscriptions
    return await EngineHarness.wait_until(count, lambda n: n >= at_least) >= at_least


async def test_a_limit_order_fires_from_an_account_update(
        remote: EngineHarness, cluster: tuple[SimWorld, str]) -> None:
    world, _ = cluster
    assert await subscribed(world, 3)  # three programs, and the Raydium vaults
    order_id = await remote.submit(orderType="limit", tokenIn="SOL", tokenOut="USDC",
                                   amount=1, limitPrice="154", slippage=0.02)
    await remote.wait_for_status(order_id, "waiting")
    for pool in ("met-sol-usdc", "ray-sol-usdc"):
        world.move_price(pool, 1.05)  # on the cluster: only its accounts say so
    final = await remote.wait_terminal(order_id)
    assert final["status"] == "confirmed"


async def test_a_sniper_fires_when_its_pool_account_appears(
        remote: EngineHarness, cluster: tuple[SimWorld, str]) -> None:
    world, _ = cluster
    mint = str(Pubkey(bytes(range(32))))
    order_id = await remote.submit(orderType="sniper", tokenIn="SOL", tokenOut=mint,
                                   amount=0.1, slippage=0.3)
    await remote.wait_for_status(order_id, "waiting")
    world.launch(mint=mint, venue="meteora", price=None, liquidity=None)
    final = await remote.wait_terminal(order_id, limit=15)
    assert final["status"] == "confirmed"


async def test_two_engines_on_one_cluster_see_the_same_pools_and_prices(
        tmp_path: Path) -> None:
    cluster = ClusterProcess(tmp_path / "cluster.db", "--latency-scale", "0",
                             "--failure-rate", "0", "--seed", "4")
    await cluster.start()
    engines = [EngineProcess(tmp_path / f"e{n}.db", "--rpc-url", cluster.url,
                             "--latency-scale", "0") for n in (1, 2)]
    try:
        for engine in engines:
            await engine.start()
        quotes = []
        async with aiohttp.ClientSession() as session:
            for engine in engines:
                async with session.get(f"{engine.url}/api/quotes", params={
                        "inputMint": "JUP", "outputMint": "SOL", "amount": "1000000"}) as resp:
                    quotes.append(await resp.json())
    finally:
        for engine in engines:
            await engine.terminate()
        await cluster.terminate()
    first, second = quotes
    assert first["contextSlot"] == second["contextSlot"]
    assert first["outAmount"] == second["outAmount"]
    assert {q["pool"] for q in first["alternatives"]} == {q["pool"] for q in second["alternatives"]}


async def test_the_embedded_cluster_serves_the_same_account_path_in_process(
        tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db") as engine:
        engine.world.hold_prices()
        assert await subscribed(engine.world, 3)
        order_id = await engine.submit(orderType="limit", tokenIn="SOL", tokenOut="USDC",
                                       amount=1, limitPrice="154", slippage=0.02)
        await engine.wait_for_status(order_id, "waiting")
        for pool in ("met-sol-usdc", "ray-sol-usdc"):
            engine.world.move_price(pool, 1.05)
        final = await engine.wait_terminal(order_id)
        assert final["status"] == "confirmed"
        routed = next(e for e in await engine.history(order_id) if e["status"] == "routing")
        pool = routed["route"]["legs"][0]["pool"]
        assert pool in {str(engine.world.pool_info(p).keys.address)
                        for p in ("met-sol-usdc", "ray-sol-usdc")}  # an account address


async def test_a_stop_order_fires_from_an_account_update(
        remote: EngineHarness, cluster: tuple[SimWorld, str]) -> None:
    world, _ = cluster
    order_id = await remote.submit(orderType="stop", tokenIn="SOL", tokenOut="USDC",
                                   amount=1, triggerPrice="146", slippage=0.03)
    await remote.wait_for_status(order_id, "waiting")
    for pool in ("met-sol-usdc", "ray-sol-usdc"):
        world.move_price(pool, 0.95)  # SOL falls, on the cluster only
    final = await remote.wait_terminal(order_id)
    assert final["status"] == "confirmed"
    assert len(world.chain.history.landed_for(order_id)) == 1


async def test_a_sniper_on_a_raydium_launch_says_when_the_pool_opened(
        remote: EngineHarness, cluster: tuple[SimWorld, str]) -> None:
    world, _ = cluster
    await remote.wait_terminal(await remote.submit(tokenIn="SOL", tokenOut="USDC", amount=1))
    mint = str(Pubkey(bytes(range(1, 33))))  # launched after a landing: at a slot above 0
    order_id = await remote.submit(orderType="sniper", tokenIn="SOL", tokenOut=mint,
                                   amount=0.1, slippage=0.3)
    await remote.wait_for_status(order_id, "waiting")
    launched = world.launch(mint=mint, venue="raydium", price=None, liquidity=None)
    final = await remote.wait_terminal(order_id, limit=15)
    assert final["status"] == "confirmed"
    assert final["poolOpenedSlot"] == launched["slot"]  # from the pool's open_time, in slots
    assert final["slotsAfterPoolOpened"] >= 0

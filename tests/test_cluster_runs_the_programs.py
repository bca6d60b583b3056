"""With --programs the cluster executes every transaction with Raydium's and Meteora's own
bytecode (LiteSVM): the engine's orders, other traders' swaps and launches; the runtime holds
every account, and what the engine reads and is told comes from it."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from engine.config import state_paths
from engine.domain.transactions import SwapInstruction
from engine.solana.jsonrpc import RpcError
from engine.solana.programs import DLMM, associated_token_address
from engine.solana.transaction import sign, swap_instructions, wire
from engine.testing import EngineHarness
from engine.testing.process import ClusterProcess, EngineProcess

SOL, USDC = "So11111111111111111111111111111111111111112", \
    "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def harness(tmp_path: Path, programs: Path, **settings: Any) -> Any:
    return EngineHarness.start(tmp_path / "e.db", programs=str(programs), **settings)


async def test_an_order_lands_as_the_programs_execute_it(tmp_path: Path, programs: Path) -> None:
    async with harness(tmp_path, programs) as engine:
        order_id = await engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
        final = await engine.wait_terminal(order_id)
        assert final["status"] == "confirmed"
        found = await engine.world.rpc.dispatch("getTransaction", [
            final["txHash"], {"encoding": "base64", "maxSupportedTransactionVersion": 0}])
        meta = found["meta"]
        logs = meta["logMessages"]
        assert f"Program {DLMM} invoke [1]" in logs or any("675kPX9M" in line or "CPMMoo8L" in line
                                                            for line in logs)
        assert "Program log: Instruction: Swap" in logs or any("Swap" in line for line in logs)
        assert any(line.startswith("Program log: order:") for line in logs)  # the memo program
        assert meta["innerInstructions"], "the token transfers the swap made"
        # The units are what the runtime counted, not a table: the programs' own top-level
        # lines add up to them, less the built-ins' (ComputeBudget, System) fixed 150 each.
        counted = _top_level_units(logs)
        assert 0 < meta["computeUnitsConsumed"] - counted <= 1_000, (meta, counted)
        # Every account's lamports and every token account's balance, the pool's vaults too.
        keys = len(meta["preBalances"])
        assert keys == len(meta["postBalances"]) > 10
        owner = engine.world.chain.owner
        vaults = {b["accountIndex"] for b in meta["postTokenBalances"] if b["owner"] != owner}
        assert len(vaults) == 2
        paid = meta["preBalances"][0] - meta["postBalances"][0]
        assert paid == 10**9 + meta["fee"]  # 1 SOL in, and the fee (the wSOL account refunded)
        version = await engine.world.rpc.dispatch("getVersion", [])
        assert version["execution"] == "bytecode"
        assert engine.http is not None
        async with engine.http.get("/healthz") as resp:
            assert (await resp.json())["cluster"] == {"execution": "bytecode"}


def _top_level_units(logs: list[str]) -> int:
    """The units the transaction's own instructions report consuming (not their CPIs')."""
    depth, total = 0, 0
    for line in logs:
        if " invoke [" in line:
            depth = int(line.rsplit("[", 1)[1].rstrip("]"))
        elif line.endswith(" success") or " failed" in line:
            depth -= 1
        elif " consumed " in line and depth == 1:
            total += int(line.split(" consumed ")[1].split()[0])
    return total


async def test_without_programs_the_cluster_says_it_runs_the_model(order_engine: EngineHarness
                                                                    ) -> None:
    assert (await order_engine.world.rpc.dispatch("getVersion", []))["execution"] == "model"
    assert order_engine.http is not None
    async with order_engine.http.get("/healthz") as resp:
        assert (await resp.json())["cluster"] == {"execution": "model"}


async def test_the_wallet_and_pools_served_are_the_runtimes_accounts(tmp_path: Path,
                                                                      programs: Path) -> None:
    async with harness(tmp_path, programs) as engine:
        for body in ({"tokenIn": "SOL", "tokenOut": "USDC", "amount": 2},
                     {"tokenIn": "USDC", "tokenOut": "BONK", "amount": 50},
                     {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 20, "swapMode": "ExactOut"}):
            assert (await engine.wait_terminal(await engine.submit(**body)))["status"] == \
                "confirmed"
        bytecode = engine.world.bytecode
        assert bytecode is not None
        owner = Pubkey.from_string(engine.world.chain.owner or "")
        assert engine.http is not None
        async with engine.http.get("/api/wallet") as resp:
            wallet = await resp.json()
        for balance in wallet["balances"]:
            if balance["mint"] == SOL:
                held = bytecode.runtime.svm.get_balance(owner)
            else:
                held = bytecode.runtime.token_amount(associated_token_address(
                    owner, Pubkey.from_string(balance["mint"])))
            assert int(balance["atoms"]) == held, balance["symbol"]
        pool = engine.world.pool_info("met-sol-usdc").keys.address
        answer = await engine.world.rpc.dispatch("getAccountInfo", [str(pool),
                                                                   {"encoding": "base64"}])
        served = base64.b64decode(answer["value"]["data"][0])
        assert served == bytecode.runtime.data(pool)


async def test_other_traders_swap_through_the_programs(tmp_path: Path, programs: Path) -> None:
    async with harness(tmp_path, programs, market_flow=20.0) as engine:
        bytecode = engine.world.bytecode
        assert bytecode is not None
        keys = engine.world.pool_info("ray-sol-usdc").keys
        before = bytecode.runtime.token_amount(keys.vault_a)
        for _ in range(10):  # ten empty slots: other traders trade in them
            engine.world.chain.idle()
        after = bytecode.runtime.token_amount(keys.vault_a)
        assert before != after  # the program moved the vault's tokens
        pool = engine.world.pool("ray-sol-usdc")
        assert pool.state() == _read_back(engine, "ray-sol-usdc")  # the model follows it


def _read_back(engine: EngineHarness, pool_id: str) -> Any:
    from engine.svm.pools import read

    assert engine.world.bytecode is not None
    return read(engine.world.bytecode.runtime, engine.world.pool_info(pool_id)).state()


def _swap(engine: EngineHarness, min_out: int) -> str:
    """A signed SOL -> USDC swap on Meteora asking for at least `min_out`."""
    keypair = Keypair.from_json(Path(state_paths(engine.settings.db).keypair).read_text())
    owner = keypair.pubkey()
    leg = SwapInstruction("meteora", "met-sol-usdc", SOL, USDC, 10**9, min_out)
    body = swap_instructions(owner, [leg], engine.world.pool_info)
    blockhash = engine.world.chain.latest_blockhash().hash
    return wire(sign(owner, keypair, body, blockhash, "order:hand-made:1", 1_400_000, 0))


async def test_preflight_runs_the_program_and_answers_its_error(tmp_path: Path,
                                                                programs: Path) -> None:
    async with harness(tmp_path, programs, market_flow=0.0) as engine:
        rpc, wallet = engine.world.rpc, engine.world.chain.wallet
        lamports = wallet.balances[SOL]
        with pytest.raises(RpcError) as refused:
            await rpc.dispatch("sendTransaction", [_swap(engine, 10**12), {"encoding": "base64"}])
        assert refused.value.code == -32002
        data = refused.value.data
        assert data["err"]["InstructionError"][1] == {"Custom": 6003}  # ExceededAmountSlippage
        assert any("6003" in line or "0x1773" in line for line in data["logs"])
        assert data["unitsConsumed"] > 0
        assert wallet.balances[SOL] == lamports  # a preflight charges nothing
        signature = await rpc.dispatch("sendTransaction", [_swap(engine, 10**12), {
            "encoding": "base64", "skipPreflight": True}])
        for _ in range(50):
            status = (await rpc.dispatch("getSignatureStatuses", [[signature]]))["value"][0]
            if status is not None:
                break
            await asyncio.sleep(0)
        assert status is not None and status["err"]["InstructionError"][1] == {"Custom": 6003}
        assert wallet.balances[SOL] == lamports - 5_000  # landed failed: its fee is charged


async def test_a_launch_and_its_sniper_run_on_the_programs(tmp_path: Path, programs: Path) -> None:
    async with harness(tmp_path, programs, market_flow=0.0) as engine:
        mint = str(Keypair().pubkey())
        sniper = await engine.submit(orderType="sniper", tokenIn="SOL", tokenOut=mint,
                                     amount=0.5, maxPrice=0.01, slippage=0.05)
        assert engine.http is not None
        async with engine.http.post("/api/sim/launch", json={
                "mint": mint, "venue": "raydium", "price": 0.000001, "liquidity": 85}) as resp:
            assert resp.status == 201
        final = await engine.wait_terminal(sniper)
        assert final["status"] == "confirmed"
        bytecode = engine.world.bytecode
        assert bytecode is not None
        owner = Pubkey.from_string(engine.world.chain.owner or "")
        held = bytecode.runtime.token_amount(associated_token_address(owner,
                                                                      Pubkey.from_string(mint)))
        order = await engine.order(sniper)
        assert held == int(order["route"]["outAmount"])  # a quiet market: all it planned


async def test_the_runtimes_accounts_survive_a_restart(tmp_path: Path, programs: Path) -> None:
    chain_db = str(tmp_path / "chain.db")
    async with harness(tmp_path, programs, chain_db=chain_db, market_flow=0.0) as engine:
        for body in ({"tokenIn": "SOL", "tokenOut": "USDC", "amount": 3},
                     {"tokenIn": "USDC", "tokenOut": "SOL", "amount": 100}):
            await engine.wait_terminal(await engine.submit(**body))
        assert engine.http is not None
        async with engine.http.get("/api/wallet") as resp:
            before = await resp.json()
        pools = {p: engine.world.pool(p).state() for p in ("met-sol-usdc", "ray-sol-usdc")}
    async with harness(tmp_path, programs, chain_db=chain_db, market_flow=0.0) as again:
        assert again.http is not None
        async with again.http.get("/api/wallet") as resp:
            assert await resp.json() == before
        assert {p: _read_back(again, p) for p in pools} == pools  # the runtime's own bytes
        order_id = await again.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
        assert (await again.wait_terminal(order_id))["status"] == "confirmed"


async def test_other_traders_swaps_are_kept_with_the_next_landing(tmp_path: Path,
                                                                 programs: Path) -> None:
    chain_db = str(tmp_path / "chain.db")
    async with harness(tmp_path, programs, chain_db=chain_db, market_flow=20.0) as engine:
        for _ in range(5):  # five empty slots: other traders swap on most pools
            engine.world.chain.idle()
        engine.world.hold_prices()  # the landing below is the last change
        order_id = await engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
        assert (await engine.wait_terminal(order_id))["status"] == "confirmed"
        pools = {p: _read_back(engine, p) for p in engine.world.pools_of(None)}
    async with harness(tmp_path, programs, chain_db=chain_db, market_flow=0.0) as again:
        assert {p: _read_back(again, p) for p in pools} == pools


async def test_a_scripted_price_move_survives_a_restart(tmp_path: Path, programs: Path) -> None:
    chain_db = str(tmp_path / "chain.db")
    moved = ("met-sol-usdc", "ray-sol-usdc")
    async with harness(tmp_path, programs, chain_db=chain_db, market_flow=0.0) as engine:
        for pool_id in moved:
            engine.world.move_price(pool_id, 1.05)
        pools = {p: _read_back(engine, p) for p in moved}
    async with harness(tmp_path, programs, chain_db=chain_db, market_flow=0.0) as again:
        assert {p: _read_back(again, p) for p in moved} == pools
        assert {p: again.world.pool(p).state() for p in moved} == pools


async def test_the_standalone_cluster_runs_the_programs_for_an_engine(tmp_path: Path,
                                                                      programs: Path) -> None:
    wallet = tmp_path / "wallet.json"
    cluster = ClusterProcess(tmp_path / "cluster.db", "--latency-scale", "0", "--failure-rate",
                             "0", "--market-flow", "0", "--programs", str(programs),
                             "--fund-keypair", str(wallet))
    await cluster.start()
    engine = EngineProcess(tmp_path / "e.db", "--rpc-url", cluster.url, "--keypair",
                           str(wallet), "--latency-scale", "0", "--failure-rate", "0")
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(cluster.url, json={
                    "jsonrpc": "2.0", "id": 1, "method": "getVersion"}) as resp:
                version = (await resp.json())["result"]
            assert version["execution"] == "bytecode" and version["solana-core"]
            await engine.start()
            async with session.post(f"{engine.url}/api/orders/execute", json={
                    "orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC",
                    "amount": 1}) as resp:
                order_id = (await resp.json())["orderId"]
            for _ in range(200):
                async with session.get(f"{engine.url}/api/orders/{order_id}") as resp:
                    order = await resp.json()
                if order["status"] in ("confirmed", "failed"):
                    break
                await asyncio.sleep(0.05)
            assert order["status"] == "confirmed", order
            async with session.get(f"{engine.url}/healthz") as resp:
                assert (await resp.json())["cluster"] == {"execution": "bytecode"}
    finally:
        if engine.proc is not None:
            await engine.terminate()
        await cluster.terminate()

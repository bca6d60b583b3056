"""A swap the wallet cannot pay for, sent to the cluster as any client sends it: with a
preflight, refused (-32002) with the very error and logs simulateTransaction gives, and
nothing charged; without one, it lands failed and pays its fee, as on any node. On the model,
and on the programs (where the runtime alone judges what is missing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cluster_clients import chain_adapter

from engine.clock import SystemClock
from engine.domain.tokens import WSOL_MINT, lookup
from engine.domain.transactions import Memo, SignedTransaction, SwapInstruction
from engine.simulator.genesis import open_world
from engine.simulator.world import SimWorld
from engine.solana.jsonrpc import PREFLIGHT_FAILURE, RpcError
from engine.solana_client.client import RpcClient
from engine.solana_client.rpc_errors import error_code
from engine.solana_client.transports import InProcess
from engine.testing.cluster import wallet_for

USDC = lookup("USDC").mint  # type: ignore[union-attr]


async def too_large_a_sale(world: SimWorld, tmp_path: Path) -> SignedTransaction:
    """Twice the wallet's USDC, sold for SOL on Raydium, signed by the wallet."""
    chain = chain_adapter(world, tmp_path / "wallet.json")
    held = world.chain.wallet.balances[USDC]
    swap = SwapInstruction("raydium", "ray-sol-usdc", USDC, WSOL_MINT, 2 * held, 1)
    return await chain.sign([swap], await chain.latest_blockhash(), memo=Memo("o-1", 1))


async def test_a_preflight_refuses_it_as_the_simulation_fails_it_and_charges_nothing(
        quiet_world: SimWorld, tmp_path: Path) -> None:
    tx = await too_large_a_sale(quiet_world, tmp_path)
    node = RpcClient(InProcess(quiet_world.rpc))
    simulated = (await node.simulate_transaction(tx.payload))["value"]
    lamports = quiet_world.chain.wallet.balances[WSOL_MINT]
    with pytest.raises(RpcError) as refused:
        await node.send_transaction(tx.payload)
    assert refused.value.code == PREFLIGHT_FAILURE
    assert refused.value.data is not None
    assert refused.value.data["err"] == simulated["err"] is not None
    assert refused.value.data["logs"] == simulated["logs"]
    index = simulated["err"]["InstructionError"][0]
    assert f"Error processing Instruction {index}: custom program error" in refused.value.message
    assert index >= 2  # not the compute budget's: the instruction that found the shortfall
    assert error_code(simulated["err"]) == "INSUFFICIENT_FUNDS"
    assert quiet_world.chain.wallet.balances[WSOL_MINT] == lamports
    assert quiet_world.chain.history.landed_for("o-1") == []


async def test_without_a_preflight_it_lands_failed_and_pays_its_fee(
        quiet_world: SimWorld, tmp_path: Path) -> None:
    tx = await too_large_a_sale(quiet_world, tmp_path)
    node = RpcClient(InProcess(quiet_world.rpc))
    lamports, usdc = (quiet_world.chain.wallet.balances[m] for m in (WSOL_MINT, USDC))
    await node.send_transaction(tx.payload, skip_preflight=True)
    landed = await chain_adapter(quiet_world, tmp_path / "wallet.json").confirm(tx)
    assert landed is not None and landed.err == "INSUFFICIENT_FUNDS"
    assert quiet_world.chain.wallet.balances[WSOL_MINT] == lamports - landed.fee_lamports
    assert quiet_world.chain.wallet.balances[USDC] == usdc


async def test_a_wallet_that_cannot_pay_the_fee_is_refused_even_without_a_preflight(
        tmp_path: Path) -> None:
    world = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                       funded=wallet_for(tmp_path / "wallet.json"), market_flow=0)
    tx = await too_large_a_sale(world, tmp_path)
    world.chain.wallet.balances[WSOL_MINT] = 4_999  # a signature costs 5,000 lamports
    with pytest.raises(RpcError) as refused:
        await RpcClient(InProcess(world.rpc)).send_transaction(tx.payload, skip_preflight=True)
    assert refused.value.data["err"] == "InsufficientFundsForFee"
    assert refused.value.message == "Transaction simulation failed: Insufficient funds for fee"
    assert world.chain.wallet.balances[WSOL_MINT] == 4_999
    await world.chain.close()

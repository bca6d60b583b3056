"""The engine simulates each transaction before it sends it (for its compute limit). One whose
simulation succeeded goes without the node's preflight, which would only run it again; one
whose simulation failed, or one this process did not simulate (a rebroadcast after a restart),
keeps the preflight, which refuses a failing transaction without charging it; and a refusal
for a compute limit too small is worth another attempt (it simulates afresh). Judged by the
programs themselves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from cluster_clients import chain_adapter
from solders.pubkey import Pubkey

from engine.clock import SystemClock
from engine.domain.errors import OutOfCompute, SlippageExceeded
from engine.domain.tokens import WSOL_MINT, lookup
from engine.domain.transactions import Memo, SignedTransaction, SwapInstruction
from engine.simulator.genesis import open_world
from engine.simulator.world import SimWorld
from engine.solana.transaction import sign, swap_instructions, wire
from engine.solana_client.chain import RpcChain
from engine.solana_client.keypair import load_or_create
from engine.testing.cluster import wallet_for

USDC = lookup("USDC").mint  # type: ignore[union-attr]


@pytest_asyncio.fixture
async def world(tmp_path: Path, programs: Path) -> AsyncIterator[SimWorld]:
    """A quiet market whose transactions the programs run, the wallet at tmp_path funded."""
    world = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                       funded=wallet_for(tmp_path / "wallet.json"), market_flow=0,
                       programs=str(programs))
    yield world
    await world.chain.close()


async def a_sale(world: SimWorld, chain: RpcChain, min_out: int | None = None
                 ) -> SignedTransaction:
    """0.1 SOL sold on Raydium's SOL/USDC CPMM pool for at least `min_out` atoms of USDC (by
    default 99 % of what it pays now)."""
    if min_out is None:
        out, _ = world.pool("ray-sol-usdc").swap_out(WSOL_MINT, 10**8, world.chain.now())
        min_out = out * 99 // 100
    ix = SwapInstruction("raydium", "ray-sol-usdc", WSOL_MINT, USDC, 10**8, min_out)
    return await chain.sign([ix], await chain.latest_blockhash(), Memo("o-1", 1))


def lamports(world: SimWorld) -> int:
    assert world.bytecode is not None and world.chain.owner is not None
    return world.bytecode.runtime.svm.get_balance(Pubkey.from_string(world.chain.owner)) or 0


async def refused_for_nothing(world: SimWorld, chain: RpcChain, tx: SignedTransaction,
                              refusal: type[Exception] = SlippageExceeded) -> None:
    """The node's preflight runs it and refuses it (-32002): nothing lands, nothing is paid."""
    held = lamports(world)
    with pytest.raises(refusal):
        await chain.send(tx)
    assert lamports(world) == held
    assert await chain.signature_status(tx.signature) is None


async def test_a_simulated_transaction_is_sent_without_preflight_and_a_move_since_fails_it_on_chain(
        world: SimWorld, tmp_path: Path) -> None:
    chain = chain_adapter(world, tmp_path / "wallet.json")
    tx = await a_sale(world, chain)  # simulated: it would pass
    world.move_price("ray-sol-usdc", 0.5)  # SOL at half its price before it is sent
    held = lamports(world)
    await chain.send(tx)  # no preflight: the node takes it
    landed = await chain.confirm(tx)
    assert landed is not None and landed.err == "SLIPPAGE_EXCEEDED"
    assert landed.fee_lamports > 0 and lamports(world) == held - landed.fee_lamports


async def test_a_transaction_whose_simulation_failed_keeps_the_preflight_and_costs_nothing(
        world: SimWorld, tmp_path: Path) -> None:
    chain = chain_adapter(world, tmp_path / "wallet.json")
    tx = await a_sale(world, chain, min_out=2**63)  # no pool pays that
    await refused_for_nothing(world, chain, tx)


async def test_with_always_preflight_a_move_since_the_simulation_is_refused_for_nothing(
        world: SimWorld, tmp_path: Path) -> None:
    chain = chain_adapter(world, tmp_path / "wallet.json", always_preflight=True)
    tx = await a_sale(world, chain)
    world.move_price("ray-sol-usdc", 0.5)
    await refused_for_nothing(world, chain, tx)


async def test_a_transaction_this_process_did_not_simulate_keeps_the_preflight(
        world: SimWorld, tmp_path: Path) -> None:
    tx = await a_sale(world, chain_adapter(world, tmp_path / "wallet.json"))
    world.move_price("ray-sol-usdc", 0.5)
    restarted = chain_adapter(world, tmp_path / "wallet.json")  # as after a restart
    await refused_for_nothing(world, restarted, tx)


async def test_a_compute_limit_too_small_is_refused_by_the_preflight_as_worth_another_attempt(
        world: SimWorld, tmp_path: Path) -> None:
    chain = chain_adapter(world, tmp_path / "wallet.json")
    payer = load_or_create(tmp_path / "wallet.json")
    ix = SwapInstruction("raydium", "ray-sol-usdc", WSOL_MINT, USDC, 10**8, 1)
    blockhash = await chain.latest_blockhash()
    tx = sign(payer.pubkey(), payer, swap_instructions(payer.pubkey(), [ix], world.pool_info),
              blockhash.hash, Memo("o-1", 1).text, unit_limit=5_000, unit_price=0)
    # the order's next attempt simulates afresh
    await refused_for_nothing(world, chain, SignedTransaction(
        str(tx.signatures[0]), blockhash.last_valid_height, wire(tx)), OutOfCompute)

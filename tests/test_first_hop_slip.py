"""A route through SOL binds its first swap to deliver its quote less a small margin, which the
second swap spends. A first pool that moves past that margin fails the transaction, but not
past the order's own slippage: the chain adapter says which hop failed, and a market order is
routed afresh and tried again, where a failure of the final hop (the order's own bound) fails
it. The adapter is judged by the cluster, on the model and on the programs; and which
accounts such a transaction may write (what a landing tells account subscribers of), by
solders."""

from __future__ import annotations

import base64
from pathlib import Path

from cluster_clients import chain_adapter
from solders.transaction import VersionedTransaction

from engine.domain.routing import pivot_floor
from engine.domain.tokens import WSOL_MINT, lookup
from engine.domain.transactions import Landed, Memo, SwapInstruction
from engine.simulator.world import SimWorld
from engine.solana.transaction import decode

BONK, USDC = (lookup(s).mint for s in ("BONK", "USDC"))  # type: ignore[union-attr]


async def two_hops(world: SimWorld, tmp_path: Path, moved: str, factor: float) -> Landed:
    """A million BONK sold through SOL for USDC, bound as the engine binds it; `moved` is made
    `factor` times dearer between the signing and the landing."""
    chain = chain_adapter(world, tmp_path / "wallet.json")
    now, amount = world.chain.now(), 10**11
    sol, _ = world.pool("ray-bonk-sol").swap_out(BONK, amount, now)
    usdc, _ = world.pool("ray-sol-usdc").swap_out(WSOL_MINT, pivot_floor(sol), now)
    tx = await chain.sign([SwapInstruction("raydium", "ray-bonk-sol", BONK, WSOL_MINT, amount,
                                           pivot_floor(sol), 0),
                           SwapInstruction("raydium", "ray-sol-usdc", WSOL_MINT, USDC,
                                           pivot_floor(sol), usdc * 99 // 100, 1)],
                          await chain.latest_blockhash(), Memo("o-1", 1))
    world.move_price(moved, factor)
    await chain.send(tx)  # simulated already: no preflight, it lands and fails
    landed = await chain.confirm(tx)
    assert landed is not None
    return landed


async def test_a_first_hop_that_slips_is_named_as_the_first(quiet_world: SimWorld,
                                                            tmp_path: Path) -> None:
    landed = await two_hops(quiet_world, tmp_path, "ray-bonk-sol", 0.99)  # BONK 1 % cheaper
    assert (landed.err, landed.failed_hop) == ("SLIPPAGE_EXCEEDED", 0)


async def test_a_final_hop_that_slips_is_named_as_the_second(quiet_world: SimWorld,
                                                             tmp_path: Path) -> None:
    landed = await two_hops(quiet_world, tmp_path, "ray-sol-usdc", 0.95)  # SOL 5 % cheaper
    assert (landed.err, landed.failed_hop) == ("SLIPPAGE_EXCEEDED", 1)


async def test_the_accounts_a_transaction_may_write_are_those_solders_says(
        quiet_world: SimWorld, tmp_path: Path) -> None:
    """What the cluster tells account subscribers of after a landing: the writable keys, as
    the message's header says, here judged by solders' own reading of the same message."""
    chain = chain_adapter(quiet_world, tmp_path / "wallet.json")
    now, amount = quiet_world.chain.now(), 10**11
    sol, _ = quiet_world.pool("ray-bonk-sol").swap_out(BONK, amount, now)
    tx = await chain.sign([SwapInstruction("raydium", "ray-bonk-sol", BONK, WSOL_MINT, amount,
                                           pivot_floor(sol), 0),
                           SwapInstruction("meteora", "met-sol-usdc", WSOL_MINT, USDC,
                                           pivot_floor(sol), 1, 1)],
                          await chain.latest_blockhash(), Memo("o-1", 1))
    raw = base64.b64decode(tx.payload)
    message = VersionedTransaction.from_bytes(raw).message
    decoded = decode(raw, quiet_world.pool_at, any_program=quiet_world.runs_any_program)
    keys = message.account_keys
    assert set(decoded.writable) == {k for n, k in enumerate(keys)
                                     if message.is_maybe_writable(n)}
    assert decoded.writable and not set(decoded.writable) >= set(keys)  # some are read-only

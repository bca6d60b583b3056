"""simulateTransaction with a node's options, each answer parsed by solders' own response type:
`replaceRecentBlockhash` (and a blockhash the node does not know, answered as
BlockhashNotFound), `sigVerify` (not with a replaced blockhash), `accounts` (as the simulation
left them, with the programs' runtime) and `innerInstructions`; nothing a simulation does
stays."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.rpc.responses import SimulateTransactionResp
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from engine.clock import SystemClock
from engine.domain.tokens import lookup
from engine.domain.transactions import SwapInstruction
from engine.simulator.genesis import open_world
from engine.simulator.world import SimWorld
from engine.solana.jsonrpc import RpcError
from engine.solana.transaction import swap_instructions
from engine.testing.cluster import wallet_for

SOL, USDC = (lookup(s).mint for s in ("SOL", "USDC"))  # type: ignore[union-attr]


@pytest.fixture(params=["model", "bytecode"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SimWorld]:
    programs = request.getfixturevalue("programs") if request.param == "bytecode" else None
    built = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                       funded=wallet_for(tmp_path / "wallet.json"),
                       programs=str(programs) if programs else None)
    yield built
    await built.chain.close()


def payer(tmp_path: Path) -> Keypair:
    return Keypair.from_json((tmp_path / "wallet.json").read_text())


def a_swap(world: SimWorld, owner: Pubkey) -> list[Any]:
    pool = next(p for p in world.raydium.pools.values() if set(p.mints) == {SOL, USDC})
    return swap_instructions(owner, [SwapInstruction("raydium", pool.id, SOL, USDC, 10**8, 1)],
                             world.pool_info)


def signed(signer: Keypair, instructions: list[Any], blockhash: str) -> str:
    message = MessageV0.try_compile(signer.pubkey(), instructions, [],
                                    Hash.from_string(blockhash))
    tx = VersionedTransaction.populate(message, [signer.sign_message(to_bytes_versioned(message))])
    return base64.b64encode(bytes(tx)).decode()


async def simulate(world: SimWorld, tx: str, **options: Any) -> dict[str, Any]:
    """The answer, as JSON, after solders' SimulateTransactionResp has parsed it."""
    result = await world.rpc.dispatch("simulateTransaction", [tx, {"encoding": "base64",
                                                                   **options}])
    text = json.dumps({"jsonrpc": "2.0", "id": 1, "result": result})
    parsed = SimulateTransactionResp.from_json(text)
    assert not isinstance(parsed, str), parsed  # a parse error comes back as its text
    return dict(result["value"])


async def test_a_blockhash_the_node_does_not_know_is_not_run(world: SimWorld,
                                                             tmp_path: Path) -> None:
    tx = signed(payer(tmp_path), a_swap(world, payer(tmp_path).pubkey()), str(Hash.default()))
    answer = await simulate(world, tx)
    assert answer["err"] == "BlockhashNotFound" and answer["unitsConsumed"] == 0


async def test_replace_recent_blockhash_runs_it_with_the_latest(world: SimWorld,
                                                               tmp_path: Path) -> None:
    tx = signed(payer(tmp_path), a_swap(world, payer(tmp_path).pubkey()), str(Hash.default()))
    answer = await simulate(world, tx, replaceRecentBlockhash=True)
    latest = world.chain.latest_blockhash()
    assert answer["err"] is None and answer["unitsConsumed"] > 0
    assert answer["replacementBlockhash"] == {"blockhash": latest.hash,
                                              "lastValidBlockHeight": latest.last_valid_height}


async def test_sig_verify_and_a_replaced_blockhash_do_not_go_together(world: SimWorld,
                                                                      tmp_path: Path) -> None:
    tx = signed(payer(tmp_path), a_swap(world, payer(tmp_path).pubkey()),
                world.chain.latest_blockhash().hash)
    with pytest.raises(RpcError) as refused:
        await simulate(world, tx, sigVerify=True, replaceRecentBlockhash=True)
    assert refused.value.code == -32602 and "sigVerify" in refused.value.message


async def test_inner_instructions_only_when_asked(world: SimWorld, tmp_path: Path) -> None:
    tx = signed(payer(tmp_path), a_swap(world, payer(tmp_path).pubkey()),
                world.chain.latest_blockhash().hash)
    assert (await simulate(world, tx))["innerInstructions"] is None
    inner = (await simulate(world, tx, innerInstructions=True))["innerInstructions"]
    assert isinstance(inner, list)
    if world.bytecode is not None:  # the swap's token transfers, as the program made them
        assert any(group["instructions"] for group in inner)


async def test_accounts_as_the_simulation_left_them_and_nothing_stays(
        tmp_path: Path, programs: Path) -> None:
    world = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                       funded=wallet_for(tmp_path / "wallet.json"), programs=str(programs))
    try:
        signer, receiver, elsewhere = payer(tmp_path), Keypair().pubkey(), Keypair().pubkey()
        pay = transfer(TransferParams(from_pubkey=signer.pubkey(), to_pubkey=receiver,
                                      lamports=3 * 10**9))
        before = (await world.rpc.dispatch("getBalance", [str(signer.pubkey())]))["value"]
        answer = await simulate(world, signed(signer, [pay], world.chain.latest_blockhash().hash),
                                accounts={"addresses": [str(signer.pubkey()), str(receiver),
                                                        str(elsewhere)], "encoding": "base64"})
        mine, theirs, untouched = answer["accounts"]
        assert theirs["lamports"] == 3 * 10**9
        assert mine["lamports"] == before - 3 * 10**9 - 5_000  # the transfer and the fee
        assert untouched is None  # not the transaction's: a node gives null
        assert (await world.rpc.dispatch("getBalance", [str(receiver)]))["value"] == 0
    finally:
        await world.chain.close()


async def test_without_the_programs_accounts_are_refused_honestly(tmp_path: Path) -> None:
    world = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                       funded=wallet_for(tmp_path / "wallet.json"))
    try:
        tx = signed(payer(tmp_path), a_swap(world, payer(tmp_path).pubkey()),
                    world.chain.latest_blockhash().hash)
        with pytest.raises(RpcError) as refused:
            await simulate(world, tx, accounts={"addresses": [str(Keypair().pubkey())]})
        assert refused.value.code == -32602 and "--programs" in refused.value.message
    finally:
        await world.chain.close()


async def test_bad_accounts_options_are_refused(world: SimWorld, tmp_path: Path) -> None:
    tx = signed(payer(tmp_path), a_swap(world, payer(tmp_path).pubkey()),
                world.chain.latest_blockhash().hash)
    for bad in ({"addresses": "not-a-list"}, {"addresses": ["nope"]},
                {"addresses": [str(Keypair().pubkey())] * 101}, {"encoding": "base64"}):
        with pytest.raises(RpcError) as refused:
            await simulate(world, tx, accounts=bad)
        assert refused.value.code == -32602

"""Address lookup tables: a route whose transaction would not fit in a packet (1,232 bytes)
looks its accounts up in a table the wallet creates, extends and keeps, as aggregators do; the
cluster refuses what no node would take, resolves lookups as the runtime does, and reports the
loaded addresses in getTransaction. With the programs, the runtime's own lookup-table program
and its own resolution do all of it."""

from __future__ import annotations

import base64
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cluster_clients import chain_adapter
from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from engine.clock import SystemClock
from engine.domain.errors import TransientError
from engine.domain.tokens import lookup
from engine.domain.transactions import Memo, SwapInstruction
from engine.simulator.genesis import open_world
from engine.simulator.world import SimWorld
from engine.solana import lookup_tables as alt
from engine.solana.jsonrpc import RpcError
from engine.solana.lookup_tables import LookupTable, lookupable
from engine.solana.transaction import MAX_TRANSACTION_BYTES, swap_instructions
from engine.solana_client.chain import RpcChain
from engine.solana_client.client import RpcClient
from engine.solana_client.lookup_tables import LookupTables
from engine.solana_client.transports import InProcess
from engine.testing import EngineHarness
from engine.testing.cluster import wallet_for

SOL, USDC, BONK = (lookup(s).mint for s in ("SOL", "USDC", "BONK"))  # type: ignore[union-attr]


class Values:
    """An engine's kept values, as its store keeps them."""

    def __init__(self) -> None:
        self.kept: dict[str, str] = {}

    async def engine_value(self, key: str) -> str | None:
        return self.kept.get(key)

    async def set_engine_value(self, key: str, value: str) -> None:
        self.kept[key] = value


@pytest.fixture(params=["model", "bytecode"])
def runs(request: pytest.FixtureRequest) -> Path | None:
    """What runs the cluster's transactions: the model (None), or the programs' bytecode."""
    return request.getfixturevalue("programs") if request.param == "bytecode" else None


@pytest.fixture
async def world(runs: Path | None, tmp_path: Path) -> AsyncIterator[SimWorld]:
    built = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                       funded=wallet_for(tmp_path / "wallet.json"),
                       programs=str(runs) if runs else None,
                       chain_db=str(tmp_path / "chain.db"))
    yield built
    await built.chain.close()


@pytest.fixture
async def model_world(tmp_path: Path) -> AsyncIterator[SimWorld]:
    """The cluster without the programs: its model runs the swaps and the tables."""
    built = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                       funded=wallet_for(tmp_path / "wallet.json"))
    yield built
    await built.chain.close()


def engine_side(world: SimWorld, tmp_path: Path, memory: Values | None = None) -> RpcChain:
    return chain_adapter(world, tmp_path / "wallet.json", memory)


def split_both_hops(world: SimWorld) -> list[SwapInstruction]:
    """BONK to USDC through SOL, each hop split across Raydium and Meteora: four swaps, the
    largest plan the router makes (1,639 bytes without lookups)."""
    pools = [p for v in world.venues for p in v.pools.values()]
    first = [p for p in pools if set(p.mints) == {BONK, SOL}][:2]
    second = [p for p in pools if set(p.mints) == {SOL, USDC}][:2]
    return [*(SwapInstruction(world.pool_info(p.id).venue, p.id, BONK, SOL, 10**11, 1, 0)
              for p in first),
            *(SwapInstruction(world.pool_info(p.id).venue, p.id, SOL, USDC, 10**6, 1, 1)
              for p in second)]


async def rpc(world: SimWorld, method: str, *params: Any) -> Any:
    return await world.rpc.dispatch(method, list(params))


async def a_first_landing(chain: RpcChain, world: SimWorld) -> None:
    """A swap that fits: the cluster is past its genesis slot, as any live cluster is."""
    tx = await chain.sign(split_both_hops(world)[:1], await chain.latest_blockhash(),
                          Memo("warm-up", 1))
    await chain.send(tx)
    assert (await chain.confirm(tx)) is not None


# -- the table itself --------------------------------------------------------------------------
def test_a_tables_bytes_are_what_the_runtime_reads() -> None:
    addresses = tuple(Keypair().pubkey() for _ in range(3))
    authority = Keypair().pubkey()
    table = LookupTable(Keypair().pubkey(), authority).extended(addresses, 7)
    read = AddressLookupTable.deserialize(table.encode())  # solders' own decoder
    assert list(read.addresses) == list(addresses)
    assert (read.meta.authority, read.meta.last_extended_slot,
            read.meta.last_extended_slot_start_index) == (authority, 7, 0)
    assert LookupTable.decode(table.address, table.encode()) == table


def test_addresses_appended_in_a_slot_are_usable_from_the_next() -> None:
    table = LookupTable(Keypair().pubkey(), Keypair().pubkey())
    old = tuple(Keypair().pubkey() for _ in range(2))
    new = tuple(Keypair().pubkey() for _ in range(3))
    table = table.extended(old, 5).extended(new, 9)
    assert table.usable(9) == old
    assert table.usable(10) == (*old, *new)


# -- the engine's side -------------------------------------------------------------------------
async def test_a_route_too_large_for_a_packet_looks_its_accounts_up_and_lands(
        world: SimWorld, tmp_path: Path) -> None:
    chain = engine_side(world, tmp_path, Values())
    await a_first_landing(chain, world)
    tx = await chain.sign(split_both_hops(world), await chain.latest_blockhash(), Memo("o", 1))
    raw = base64.b64decode(tx.payload)
    assert len(raw) <= MAX_TRANSACTION_BYTES
    [lookup_used] = VersionedTransaction.from_bytes(raw).message.address_table_lookups
    await chain.send(tx)
    landed = await chain.confirm(tx)
    assert landed is not None and landed.err is None and landed.amount_out > 0
    found = await rpc(world, "getTransaction", tx.signature,
                      {"encoding": "json", "maxSupportedTransactionVersion": 0,
                       "commitment": "confirmed"})
    loaded = found["meta"]["loadedAddresses"]
    assert len(loaded["writable"]) + len(loaded["readonly"]) > 20
    assert found["transaction"]["message"]["addressTableLookups"][0]["accountKey"] == \
        str(lookup_used.account_key)
    table = await rpc(world, "getAccountInfo", str(lookup_used.account_key),
                      {"encoding": "base64"})
    assert table["value"]["owner"] == str(alt.PROGRAM)
    read = AddressLookupTable.deserialize(base64.b64decode(table["value"]["data"][0]))
    assert read.meta.authority == chain.owner
    assert set(loaded["writable"]) | set(loaded["readonly"]) <= {str(a) for a in read.addresses}


async def test_the_tables_are_kept_and_reused_after_a_restart(world: SimWorld,
                                                              tmp_path: Path) -> None:
    memory = Values()
    chain = engine_side(world, tmp_path, memory)
    await a_first_landing(chain, world)
    first = await chain.sign(split_both_hops(world), await chain.latest_blockhash(),
                             Memo("o", 1))
    kept = memory.kept["lookup_tables"]
    again = engine_side(world, tmp_path, memory)  # the engine restarted
    second = await again.sign(split_both_hops(world), await again.latest_blockhash(),
                              Memo("o", 2))
    assert memory.kept["lookup_tables"] == kept and "," not in kept  # no second table
    tables = {str(VersionedTransaction.from_bytes(base64.b64decode(tx.payload))
                  .message.address_table_lookups[0].account_key) for tx in (first, second)}
    assert tables == {kept}


async def test_a_transaction_that_fits_names_its_accounts_itself(world: SimWorld,
                                                                 tmp_path: Path) -> None:
    memory = Values()
    chain = engine_side(world, tmp_path, memory)
    tx = await chain.sign(split_both_hops(world)[:1], await chain.latest_blockhash(),
                          Memo("o", 1))
    message = VersionedTransaction.from_bytes(base64.b64decode(tx.payload)).message
    assert list(message.address_table_lookups) == [] and memory.kept == {}


async def test_a_transaction_read_back_after_a_restart_resolves_its_lookups(
        world: SimWorld, tmp_path: Path) -> None:
    memory = Values()
    chain = engine_side(world, tmp_path, memory)
    await a_first_landing(chain, world)
    tx = await chain.sign(split_both_hops(world), await chain.latest_blockhash(), Memo("o", 1))
    await chain.send(tx)
    landed = await chain.confirm(tx)
    # A new process knows nothing of what it signed: it reads the transaction itself.
    assert await engine_side(world, tmp_path, memory).signature_status(tx.signature) == landed


# -- the cluster's side ------------------------------------------------------------------------
def signed(world: SimWorld, payer: Keypair, instructions: list[Any],
           tables: list[Any] | None = None) -> str:
    blockhash = world.chain.latest_blockhash().hash
    message = MessageV0.try_compile(payer.pubkey(), instructions, tables or [],
                                    Hash.from_string(blockhash))
    tx = VersionedTransaction.populate(message, [payer.sign_message(to_bytes_versioned(message))])
    return base64.b64encode(bytes(tx)).decode()


# As the engine sends and simulates: at the commitment its blockhash was read at (a node's
# default, finalized, does not know a blockhash newer than its root).
SEND = {"encoding": "base64", "preflightCommitment": "confirmed"}
READ = {"encoding": "base64", "commitment": "confirmed"}


def wallet(tmp_path: Path) -> Keypair:
    return Keypair.from_json((tmp_path / "wallet.json").read_text())


async def test_a_transaction_over_1232_bytes_is_refused_as_a_node_refuses_it(
        world: SimWorld, tmp_path: Path) -> None:
    payer = wallet(tmp_path)
    memo = Instruction(Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"),
                           b"x" * 1_200, [])
    with pytest.raises(RpcError) as refused:
        await rpc(world, "sendTransaction", signed(world, payer, [memo]),
                  SEND)
    assert refused.value.code == -32602
    assert "too large" in refused.value.message and "max: 1232 bytes" in refused.value.message


async def test_a_lookup_in_a_table_that_does_not_exist_is_refused(world: SimWorld,
                                                                  tmp_path: Path) -> None:
    payer = wallet(tmp_path)
    nowhere = Keypair().pubkey()
    send = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=nowhere, lamports=1))
    fake = AddressLookupTableAccount(Keypair().pubkey(), [nowhere])
    with pytest.raises(RpcError) as refused:
        await rpc(world, "sendTransaction", signed(world, payer, [send], [fake]),
                  SEND)
    assert refused.value.code == -32002  # the preflight's answer
    assert refused.value.data["err"] == "AddressLookupTableNotFound"


async def test_addresses_are_not_usable_in_the_slot_they_were_appended(
        world: SimWorld, tmp_path: Path) -> None:
    payer = wallet(tmp_path)
    chain = engine_side(world, tmp_path)
    await a_first_landing(chain, world)
    recent = await rpc(world, "getSlot", {"commitment": "finalized"})
    create, table = alt.create(payer.pubkey(), payer.pubkey(), recent)
    swap = swap_instructions(payer.pubkey(), split_both_hops(world)[:1], world.pool_info)
    targets = lookupable(swap)
    world.chain.pause()
    signature = await rpc(world, "sendTransaction", signed(world, payer, [
        create, alt.extend(table, payer.pubkey(), payer.pubkey(), targets)]),
        SEND)
    await world.chain.history.settled()
    [status] = (await rpc(world, "getSignatureStatuses", [signature]))["value"]
    assert status is not None and status["err"] is None
    found = await rpc(world, "getTransaction", signature,
                      {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0,
                       "commitment": "confirmed"})
    parsed = [ix["parsed"] for ix in found["transaction"]["message"]["instructions"]
              if ix.get("program") == "address-lookup-table"]
    assert [ix["type"] for ix in parsed] == ["createLookupTable", "extendLookupTable"]
    assert parsed[0]["info"]["recentSlot"] == recent
    assert parsed[1]["info"]["newAddresses"] == [str(a) for a in targets]
    lookups = [AddressLookupTableAccount(table, targets)]
    with pytest.raises(RpcError) as refused:  # the clock stands still: still the same slot
        await rpc(world, "simulateTransaction", signed(world, payer, swap, lookups), READ)
    assert refused.value.data["err"] == "InvalidAddressLookupTableIndex"
    world.chain.resume()
    world.chain.travel_to(world.chain.block_height + 1)
    simulated = await rpc(world, "simulateTransaction", signed(world, payer, swap, lookups),
                          READ)
    assert simulated["value"]["err"] is None


async def test_a_table_must_be_derived_from_a_recent_slot(world: SimWorld,
                                                          tmp_path: Path) -> None:
    payer = wallet(tmp_path)
    chain = engine_side(world, tmp_path)
    await a_first_landing(chain, world)
    future = world.chain.block_height + 10
    create, _ = alt.create(payer.pubkey(), payer.pubkey(), future)
    signature = await rpc(world, "sendTransaction", signed(world, payer, [create]),
                          {"encoding": "base64", "skipPreflight": True})
    await world.chain.history.settled()
    found = await rpc(world, "getTransaction", signature,
                      {"encoding": "json", "maxSupportedTransactionVersion": 0,
                       "commitment": "confirmed"})
    assert found["meta"]["err"] == {"InstructionError": [0, "InvalidInstructionData"]}
    assert any(f"{future} is not a recent slot" in line for line in found["meta"]["logMessages"])


async def test_without_the_programs_freezing_a_table_is_refused_honestly(
        model_world: SimWorld, tmp_path: Path) -> None:
    payer = wallet(tmp_path)
    freeze = Instruction(alt.PROGRAM, struct.pack("<I", alt.FREEZE), [
        AccountMeta(Keypair().pubkey(), False, True), AccountMeta(payer.pubkey(), True, False),
        AccountMeta(payer.pubkey(), True, True)])
    simulated = await rpc(model_world, "simulateTransaction",
                          signed(model_world, payer, [freeze]), READ)
    assert simulated["value"]["err"] == {"InstructionError": [0, "InvalidInstructionData"]}
    assert any("--programs" in line for line in simulated["value"]["logs"])


# -- through the API ---------------------------------------------------------------------------
async def test_an_order_split_on_both_hops_is_confirmed_in_one_transaction(
        tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db") as engine:
        warm = await engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1, slippage=0.02)
        await engine.wait_terminal(warm)
        order_id = await engine.submit(tokenIn="BONK", tokenOut="USDC", amount=5 * 10**9,
                                       slippage=0.05)
        final = await engine.wait_terminal(order_id, limit=60)
        order = await engine.order(order_id)
    assert final["status"] == "confirmed", final
    assert len(order["route"]["legs"]) == 4
    found = await engine.world.rpc.dispatch("getTransaction", [
        final["txHash"], {"encoding": "base64", "maxSupportedTransactionVersion": 0,
                         "commitment": "confirmed"}])
    raw = base64.b64decode(found["transaction"][0])
    assert len(raw) <= MAX_TRANSACTION_BYTES and found["meta"]["loadedAddresses"]["writable"]


async def test_a_restarted_cluster_still_has_the_tables(tmp_path: Path,
                                                        runs: Path | None) -> None:
    def build() -> SimWorld:
        return open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                          funded=wallet_for(tmp_path / "wallet.json"),
                          programs=str(runs) if runs else None,
                          chain_db=str(tmp_path / "chain.db"))
    first, memory = build(), Values()
    chain = engine_side(first, tmp_path, memory)
    await a_first_landing(chain, first)
    tx = await chain.sign(split_both_hops(first), await chain.latest_blockhash(), Memo("o", 1))
    await first.chain.close()
    again = build()  # as after a kill: from the record alone
    try:
        table = await rpc(again, "getAccountInfo", memory.kept["lookup_tables"],
                          {"encoding": "base64"})
        assert table["value"]["owner"] == str(alt.PROGRAM)
        await rpc(again, "sendTransaction", tx.payload, SEND)
        landed = await engine_side(again, tmp_path, memory).confirm(tx)
        assert landed is not None and landed.err is None
    finally:
        await again.chain.close()


async def test_a_node_failing_the_tables_transaction_is_a_transient_failure_and_no_table_leaks(
        model_world: SimWorld, tmp_path: Path) -> None:
    class Unhealthy(RpcClient):
        """The node, unhealthy for the first transaction it is sent."""

        failed = False

        async def send_transaction(self, tx: str, *, skip_preflight: bool = False) -> str:
            if not self.failed:
                self.failed = True
                raise RpcError(-32005, "Node is unhealthy")
            return await super().send_transaction(tx, skip_preflight=skip_preflight)

    world = model_world
    await a_first_landing(engine_side(world, tmp_path), world)
    memory = Values()
    tables = LookupTables(Unhealthy(InProcess(world.rpc)), wallet(tmp_path), SystemClock(),
                          memory, poll_seconds=0)
    wanted = [Keypair().pubkey() for _ in range(3)]
    with pytest.raises(TransientError) as failed:
        await tables.cover(wanted)
    assert failed.value.code == "LOOKUP_TABLE_FAILED"
    await tables.cover(wanted)  # the order's next attempt
    [table] = tables.usable()
    assert list(table.addresses) == wanted
    assert memory.kept["lookup_tables"] == str(table.key)  # the one that never was: gone


async def test_the_finalized_slot_a_table_is_derived_from_trails_by_32(world: SimWorld) -> None:
    world.chain.travel_to(100)
    assert await rpc(world, "getSlot", {"commitment": "processed"}) == 100
    assert await rpc(world, "getSlot", {"commitment": "confirmed"}) == 100
    assert await rpc(world, "getSlot", {"commitment": "finalized"}) == 68
    assert await rpc(world, "getSlot") == 68  # a validator's default: finalized
    assert await rpc(world, "getBlockHeight", {"commitment": "finalized"}) == 68


async def test_a_full_table_is_followed_by_a_new_one(world: SimWorld, tmp_path: Path) -> None:
    world.chain.travel_to(1_000)  # a cluster that has lived a while: slots to derive from
    await a_first_landing(engine_side(world, tmp_path), world)
    memory = Values()
    tables = LookupTables(RpcClient(InProcess(world.rpc)), wallet(tmp_path), SystemClock(),
                          memory, poll_seconds=0)
    wanted = [Keypair().pubkey() for _ in range(alt.MAX_ADDRESSES + 30)]
    await tables.cover(wanted)
    first, second = tables.usable()
    assert len(first.addresses) == alt.MAX_ADDRESSES and len(second.addresses) == 30
    assert [*first.addresses, *second.addresses] == wanted
    assert memory.kept["lookup_tables"] == f"{first.key},{second.key}"
    for table in (first, second):  # each as its account holds it, its authority the wallet
        found = await rpc(world, "getAccountInfo", str(table.key), {"encoding": "base64"})
        read = AddressLookupTable.deserialize(base64.b64decode(found["value"]["data"][0]))
        assert list(read.addresses) == list(table.addresses)
        assert read.meta.authority == wallet(tmp_path).pubkey()


async def test_without_the_programs_a_table_transaction_with_other_work_is_refused(
        model_world: SimWorld, tmp_path: Path) -> None:
    payer = wallet(tmp_path)
    create, _ = alt.create(payer.pubkey(), payer.pubkey(), 0)
    pay = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(),
                                  lamports=1))
    with pytest.raises(RpcError) as refused:  # the model would run the table part alone
        await rpc(model_world, "sendTransaction", signed(model_world, payer, [create, pay]),
                  SEND)
    assert refused.value.code == -32602 and "of their own" in refused.value.message

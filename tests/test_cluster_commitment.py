"""Commitment as a validator reads it, through solana-py (and web3.js in check.mjs): a call
that names none reads at `finalized`, whose blocks are rooted 32 slots after they are made; the
history methods read confirmed or finalized blocks only and refuse `processed` in agave's words;
a blockhash is known to the bank of the commitment it is read at; a finalized signature
subscription is told once the block is rooted. A bot reads and sends at one commitment, here as
on devnet.

The tests share one cluster whose time moves only forward (by its cheatcodes and its landings);
each reads the slots it needs when it needs them and makes the transactions it looks at."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from cluster_clients import confirmed_sale, raw
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed, Finalized
from solana.rpc.core import RPCException
from solana.rpc.models import TxOpts
from solana.rpc.websocket_api import SolanaWsClient
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_status import TransactionErrorFieldless

from engine.solana import lookup_tables as alt
from engine.testing.process import ClusterProcess, EngineProcess

BELOW_CONFIRMED = "Method does not support commitment below `confirmed`"

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def landed(tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[tuple[ClusterProcess, Signature, Keypair]]:
    """A cluster (no time passing but what its cheatcodes make) on which an engine sold SOL
    once: (the cluster, the sale's signature, the wallet's keypair)."""
    tmp_path = tmp_path_factory.mktemp("commitment")
    wallet = tmp_path / "wallet.json"
    cluster = ClusterProcess(tmp_path / "cluster.db", "--latency-scale", "0", "--failure-rate",
                             "0", "--market-flow", "0", "--cheatcodes", "--fund-keypair",
                             str(wallet))
    await cluster.start()
    await call(cluster.url, "surfnet_timeTravel", {"absoluteSlot": 100})  # past genesis
    engine = EngineProcess(tmp_path / "e.db", "--latency-scale", "0", "--failure-rate", "0",
                           "--rpc-url", cluster.url, "--keypair", str(wallet))
    await engine.start()
    try:
        signature = Signature.from_string(await confirmed_sale(engine.url))
    finally:
        await engine.terminate()
    yield cluster, signature, Keypair.from_json(wallet.read_text())
    await cluster.terminate()


async def call(url: str, method: str, *params: object) -> dict[str, object]:
    answer: dict[str, object] = json.loads(await raw(url, method, *params))
    return answer


def a_table_made(payer: Keypair, blockhash: Hash, root: int) -> bytes:
    """A signed transaction the model runs: CreateLookupTable from a recent finalized slot, with
    an authority of its own (so that no two tables made here share an address)."""
    authority = Keypair()
    create, _ = alt.create(authority.pubkey(), payer.pubkey(), root)
    message = MessageV0.try_compile(payer.pubkey(), [create], [], blockhash)
    return bytes(VersionedTransaction(message, [payer, authority]))


async def landed_now(client: AsyncClient, payer: Keypair) -> Signature:
    """A transaction sent at `confirmed` (`client`'s), once it has landed."""
    root = (await client.get_slot(Finalized)).value
    blockhash = (await client.get_latest_blockhash()).value.blockhash
    signature = (await client.send_raw_transaction(a_table_made(payer, blockhash, root), TxOpts(
        preflight_commitment=Confirmed))).value
    for _ in range(100):  # it lands at the cluster's next turn
        if (await client.get_signature_statuses([signature])).value[0] is not None:
            return signature
    raise AssertionError(f"{signature} never landed")


async def test_history_methods_refuse_processed_in_agaves_words(
        landed: tuple[ClusterProcess, Signature, Keypair]) -> None:
    cluster, signature, payer = landed
    wallet = payer.pubkey()
    processed = {"commitment": "processed"}
    for method, params in (("getTransaction", [str(signature), processed]),
                           ("getBlock", [1, processed]), ("getBlocks", [0, None, processed]),
                           ("getBlocks", [0, processed]), ("getBlocksWithLimit", [0, 5, processed]),
                           ("getSignaturesForAddress", [str(wallet), processed])):
        answer = await call(cluster.url, method, *params)
        assert answer.get("error") == {"code": -32602, "message": BELOW_CONFIRMED}, (method,
                                                                                    answer)
    # Asked where agave asks it: after the method's own parameters are checked.
    for method, params, first in (
            ("getTransaction", ["0" * 88, processed], "Invalid param: Invalid"),
            ("getSignaturesForAddress", [str(wallet), {**processed, "limit": 0}],
             "Invalid limit; max 1000")):
        answer = await call(cluster.url, method, *params)
        assert answer.get("error") == {"code": -32602, "message": first}, (method, answer)


async def test_a_transaction_is_read_at_confirmed_at_once_and_by_default_once_rooted(
        landed: tuple[ClusterProcess, Signature, Keypair]) -> None:
    cluster, _, payer = landed
    wallet = payer.pubkey()
    async with AsyncClient(cluster.url) as finalized, \
            AsyncClient(cluster.url, commitment=Confirmed) as confirmed:
        signature = await landed_now(confirmed, payer)
        seen = (await confirmed.get_transaction(signature,
                                                max_supported_transaction_version=0)).value
        assert seen is not None and seen.transaction.meta is not None
        slot = seen.slot
        [newest] = (await confirmed.get_signatures_for_address(wallet, limit=1)).value
        assert newest.signature == signature
        block = (await confirmed.get_block(slot, max_supported_transaction_version=0)).value
        assert [t.transaction.signatures[0] for t in block.transactions] == [signature]

        # Not rooted yet: a client that names no commitment does not see it.
        assert signature not in [
            s.signature for s in (await finalized.get_signatures_for_address(wallet)).value]
        with pytest.raises(RPCException, match="Block not available for slot"):
            await finalized.get_block(slot, max_supported_transaction_version=0)
        tip = (await confirmed.get_slot()).value
        root = (await finalized.get_slot()).value  # solana-py's default: finalized
        assert root == max(tip - 32, 0) < slot
        assert (await finalized.get_blocks(0)).value == list(range(root + 1))
        assert (await call(cluster.url, "getBlocks", 0, {"commitment": "confirmed"}))[
            "result"] == list(range(tip + 1))
        counted = [(await call(cluster.url, "getTransactionCount", *config))["result"]
                   for config in ([{"commitment": "confirmed"}], [])]
        assert isinstance(counted[0], int) and isinstance(counted[1], int)
        assert counted[0] - counted[1] >= 1  # at least this one is not rooted yet

        # Polled for at finalized, it comes once its block is rooted, 32 slots on (with no
        # time passing, each poll that finds it not yet final is a slot, as for a status).
        polls = 0
        while (found := (await finalized.get_transaction(
                signature, max_supported_transaction_version=0)).value) is None:
            polls += 1
            assert polls <= 32
        assert found.slot == slot and polls == slot + 32 - tip
        [named] = (await finalized.get_signatures_for_address(wallet, limit=1)).value
        assert (named.signature, str(named.confirmation_status)) == (
            signature, "TransactionConfirmationStatus.Finalized")
        assert (await finalized.get_block(slot, max_supported_transaction_version=0)).value
        assert (await finalized.get_blocks(slot, slot)).value == [slot]


async def test_slots_and_min_context_slots_are_read_at_the_commitment_asked_for(
        landed: tuple[ClusterProcess, Signature, Keypair]) -> None:
    cluster, _, payer = landed
    wallet = payer.pubkey()
    now = (await call(cluster.url, "getSlot", {"commitment": "processed"}))["result"]
    assert isinstance(now, int)
    tip = now + 40
    await call(cluster.url, "surfnet_timeTravel", {"absoluteSlot": tip})
    for method in ("getSlot", "getBlockHeight"):
        assert (await call(cluster.url, method))["result"] == tip - 32
        assert (await call(cluster.url, method, {"commitment": "confirmed"}))["result"] == tip
    epoch = (await call(cluster.url, "getEpochInfo"))["result"]
    assert isinstance(epoch, dict) and epoch["absoluteSlot"] == tip - 32
    confirmed = await call(cluster.url, "getBalance", str(wallet),
                           {"commitment": "confirmed", "minContextSlot": tip})
    assert "result" in confirmed, confirmed
    by_default = await call(cluster.url, "getBalance", str(wallet), {"minContextSlot": tip})
    assert by_default.get("error") == {"code": -32016, "message": "Minimum context slot has "
                                       "not been reached", "data": {"contextSlot": tip - 32}}


async def test_an_old_status_is_found_in_the_ledger_only_when_asked_to_search_it(
        landed: tuple[ClusterProcess, Signature, Keypair]) -> None:
    cluster, signature, _ = landed
    async with AsyncClient(cluster.url, commitment=Confirmed) as client:
        found = (await client.get_transaction(signature,
                                              max_supported_transaction_version=0)).value
        assert found is not None
        await call(cluster.url, "surfnet_timeTravel", {"absoluteSlot": found.slot + 301})
        # Past a validator's status cache (300 slots): a plain poll finds nothing...
        assert (await client.get_signature_statuses([signature])).value == [None]
        # ...and searchTransactionHistory finds it, finalized, in the ledger (as the engine asks).
        [status] = (await client.get_signature_statuses(
            [signature], search_transaction_history=True)).value
        assert status is not None and status.slot == found.slot and status.err is None
        assert (status.confirmations, str(status.confirmation_status)) == (
            None, "TransactionConfirmationStatus.Finalized")


async def test_a_blockhash_is_known_at_the_commitment_it_was_read_at(
        landed: tuple[ClusterProcess, Signature, Keypair]) -> None:
    """"Blockhash not found" in a preflight, the error bots meet most on a real node: the
    blockhash read at `confirmed`, the preflight at the default, `finalized`, whose bank is 32
    slots older and has never seen it."""
    cluster, _, payer = landed
    async with AsyncClient(cluster.url) as finalized, \
            AsyncClient(cluster.url, commitment=Confirmed) as confirmed:
        tip, root = (await confirmed.get_slot()).value, (await finalized.get_slot()).value
        assert root == tip - 32
        old = await finalized.get_latest_blockhash()
        new = await confirmed.get_latest_blockhash()
        assert (old.context.slot, old.value.last_valid_block_height) == (root, root + 150)
        assert (new.context.slot, new.value.last_valid_block_height) == (tip, tip + 150)
        valid = [await call(cluster.url, "isBlockhashValid", str(new.value.blockhash), *config)
                 for config in ([], [{"commitment": "confirmed"}])]
        assert [v["result"]["value"] for v in valid] == [False, True]  # type: ignore[index]
        young = VersionedTransaction.from_bytes(a_table_made(payer, new.value.blockhash, root))
        fees = [(await client.get_fee_for_message(young.message)).value
                for client in (finalized, confirmed)]
        assert fees == [None, 5_000 * len(young.signatures)]  # unknown to the root's bank
        simulated = [(await client.simulate_transaction(young)).value.err
                     for client in (finalized, confirmed)]
        assert simulated == [TransactionErrorFieldless.BlockhashNotFound, None]

        with pytest.raises(RPCException, match="Blockhash not found"):
            await finalized.send_raw_transaction(a_table_made(payer, new.value.blockhash, root))
        sent = await confirmed.send_raw_transaction(
            a_table_made(payer, new.value.blockhash, root), TxOpts(preflight_commitment=Confirmed))
        assert isinstance(sent.value, Signature)
        sent = await finalized.send_raw_transaction(a_table_made(payer, old.value.blockhash,
                                                                 root))
        assert isinstance(sent.value, Signature)  # the finalized blockhash, 118 slots to live

        # A preflight's minContextSlot is weighed at its preflightCommitment's slot.
        payload = base64.b64encode(a_table_made(payer, new.value.blockhash, root)).decode()
        tip, root = (await confirmed.get_slot()).value, (await finalized.get_slot()).value
        at_root = await call(cluster.url, "sendTransaction", payload,
                             {"encoding": "base64", "minContextSlot": tip})
        assert at_root.get("error") == {"code": -32016, "message": "Minimum context slot has "
                                        "not been reached", "data": {"contextSlot": root}}
        at_tip = await call(cluster.url, "sendTransaction", payload, {
            "encoding": "base64", "minContextSlot": tip, "preflightCommitment": "confirmed"})
        assert "result" in at_tip, at_tip


async def test_with_no_time_passing_a_finalized_signature_subscription_is_told_at_once(
        landed: tuple[ClusterProcess, Signature, Keypair]) -> None:
    """A subscriber cannot poll, and with no time passing nothing else would root the block:
    it is told at once (with time passing, 32 slots on: test_cluster_with_solana_py)."""
    cluster, _, payer = landed
    async with AsyncClient(cluster.url, commitment=Confirmed) as client, \
            SolanaWsClient(cluster.url.replace("http", "ws", 1)) as ws:
        signature = await landed_now(client, payer)
        await ws.signature_subscribe(signature=signature)  # finalized, the default
        told = await asyncio.wait_for(ws.recv(), 5)
        assert told.result.value.err is None
        assert (await client.get_slot(Finalized)).value < told.result.context.slot

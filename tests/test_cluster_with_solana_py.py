"""The cluster as solana-py sees it: its own AsyncClient, with its own parsers, against the
standalone cluster over HTTP. A method works when the typed response parses and holds the right
values; every one a wallet or SDK asks before anything else is answered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from cluster_clients import confirmed_sale, raw
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.models import DataSliceOpts, MemcmpOpts, TokenAccountOpts
from solana.rpc.websocket_api import SolanaWsClient
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    GetAccountInfoResp,
    GetStakeMinimumDelegationResp,
    IsBlockhashValidResp,
)
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import get_associated_token_address

from engine.domain import base58
from engine.solana import lookup_tables as alt
from engine.testing.process import ClusterProcess, EngineProcess

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"

@pytest_asyncio.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[AsyncClient, ClusterProcess]]:
    wallet = tmp_path / "wallet.json"
    cluster = ClusterProcess(tmp_path / "cluster.db", "--latency-scale", "0", "--failure-rate",
                             "0", "--fund-keypair", str(wallet))
    await cluster.start()
    async with AsyncClient(cluster.url) as solana:
        yield solana, cluster
    await cluster.terminate()


async def test_what_a_client_asks_first_is_answered_and_parses(
        client: tuple[AsyncClient, ClusterProcess]) -> None:
    solana, _ = client
    assert (await solana.get_version()).value.solana_core == "2.2.0"
    assert await solana.is_connected()
    genesis = (await solana.get_genesis_hash()).value
    assert isinstance(genesis, Hash)
    identity = (await solana.get_identity()).value.identity
    epoch = (await solana.get_epoch_info()).value
    assert epoch.slots_in_epoch == 432_000 and epoch.absolute_slot == epoch.block_height
    schedule = (await solana.get_epoch_schedule()).value
    assert schedule.slots_per_epoch == 432_000
    assert (await solana.get_minimum_balance_for_rent_exemption(165)).value == 2_039_280
    assert (await solana.get_minimum_balance_for_rent_exemption(0)).value == 890_880
    assert (await solana.get_slot_leader()).value == identity
    assert (await solana.get_slot_leaders(0, 3)).value == [identity] * 3
    assert [n.pubkey for n in (await solana.get_cluster_nodes()).value] == [identity]
    votes = (await solana.get_vote_accounts()).value
    assert votes.current[0].node_pubkey == identity and votes.delinquent == []
    supply = (await solana.get_supply()).value
    assert supply.total == supply.circulating > 0
    assert (await solana.get_inflation_governor()).value.initial == 0.08
    assert (await solana.get_inflation_rate()).value.total == 0.08
    minimum = await raw(client[1].url, "getStakeMinimumDelegation")
    assert GetStakeMinimumDelegationResp.from_json(minimum).value == 1_000_000_000
    assert (await solana.get_first_available_block()).value == 0
    assert (await solana.get_minimum_ledger_slot()).value == 0
    assert (await solana.get_transaction_count()).value >= 0
    assert (await solana.get_recent_performance_samples(1)).value[0].num_slots > 0
    assert isinstance((await solana.get_block_time(0)).value, int)
    assert (await solana.get_leader_schedule()).value is not None


async def test_blockhashes_and_fees_as_a_wallet_asks(
        client: tuple[AsyncClient, ClusterProcess]) -> None:
    solana, cluster = client
    latest = (await solana.get_latest_blockhash(Confirmed)).value
    for blockhash, valid in ((latest.blockhash, True), (Hash.default(), False)):
        answer = await raw(cluster.url, "isBlockhashValid", str(blockhash))
        assert IsBlockhashValidResp.from_json(answer).value is valid
    payer = Pubkey.new_unique()
    message = MessageV0.try_compile(payer, [transfer(TransferParams(
        from_pubkey=payer, to_pubkey=Pubkey.new_unique(), lamports=1))], [], latest.blockhash)
    assert (await solana.get_fee_for_message(message)).value == 5_000


async def test_an_engines_transaction_is_finalized_32_slots_after_it_landed(
        tmp_path: Path, client: tuple[AsyncClient, ClusterProcess]) -> None:
    solana, cluster = client
    engine = EngineProcess(tmp_path / "e.db", "--latency-scale", "0", "--failure-rate", "0",
                           "--rpc-url", cluster.url, "--keypair", str(tmp_path / "wallet.json"))
    await engine.start()
    try:
        # At zero latency each landing in a turn of its own is a block.
        signatures = [await confirmed_sale(engine.url) for _ in range(34)]
    finally:
        await engine.terminate()
    statuses = (await solana.get_signature_statuses(
        [Signature.from_string(signatures[0]), Signature.from_string(signatures[-1])])).value
    assert statuses[0] is not None and str(statuses[0].confirmation_status) == \
        "TransactionConfirmationStatus.Finalized"
    assert statuses[1] is not None and str(statuses[1].confirmation_status) == \
        "TransactionConfirmationStatus.Confirmed"


async def test_accounts_that_exist_are_served_in_the_encoding_asked_for(
        tmp_path: Path, client: tuple[AsyncClient, ClusterProcess]) -> None:
    solana, _ = client
    owner = Keypair.from_json((tmp_path / "wallet.json").read_text()).pubkey()
    usdc = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
    wallet = (await solana.get_account_info(owner)).value
    assert wallet is not None and wallet.lamports == 10_000 * 10**9
    assert wallet.owner == Pubkey.from_string("11111111111111111111111111111111")
    held = (await solana.get_token_accounts_by_owner(owner, TokenAccountOpts(mint=usdc))).value
    assert len(held) == 1 and held[0].pubkey == get_associated_token_address(owner, usdc)
    assert held[0].account.data[64:72] == (1_000_000 * 10**6).to_bytes(8, "little")
    parsed = (await solana.get_token_accounts_by_owner_json_parsed(
        owner, TokenAccountOpts(program_id=TOKEN_PROGRAM_ID))).value
    amounts = {a.account.data.parsed["info"]["mint"]:
               a.account.data.parsed["info"]["tokenAmount"]["uiAmountString"] for a in parsed}
    assert amounts[str(usdc)] == "1000000"
    mint = (await solana.get_account_info_json_parsed(usdc)).value
    assert mint is not None and mint.data.parsed["info"]["decimals"] == 6
    sliced = (await solana.get_account_info(owner, encoding="base64", data_slice=DataSliceOpts(
        offset=0, length=8))).value
    assert sliced is not None and sliced.data == b""
    pool = await raw(client[1].url, "getAccountInfo", str(held[0].pubkey),
                     {"encoding": "base64", "dataSlice": {"offset": 32, "length": 32}})
    assert GetAccountInfoResp.from_json(pool).value.data == bytes(owner)


async def test_the_token_programs_accounts_filter_by_owner(
        tmp_path: Path, client: tuple[AsyncClient, ClusterProcess]) -> None:
    solana, _ = client
    owner = Keypair.from_json((tmp_path / "wallet.json").read_text()).pubkey()
    mine = (await solana.get_program_accounts(TOKEN_PROGRAM_ID, encoding="base64", filters=[
        165, MemcmpOpts(offset=32, bytes=str(owner))])).value
    assert len(mine) >= 5
    nobody = (await solana.get_program_accounts(TOKEN_PROGRAM_ID, encoding="base64", filters=[
        MemcmpOpts(offset=32, bytes=str(Pubkey.new_unique()))])).value
    assert nobody == []


async def test_a_token_accounts_balance_and_a_mints_supply(
        tmp_path: Path, client: tuple[AsyncClient, ClusterProcess]) -> None:
    solana, _ = client
    owner = Keypair.from_json((tmp_path / "wallet.json").read_text()).pubkey()
    usdc = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")
    balance = (await solana.get_token_account_balance(
        get_associated_token_address(owner, usdc))).value
    assert (balance.amount, balance.decimals, balance.ui_amount_string) == (
        "1000000000000", 6, "1000000")
    supply = (await solana.get_token_supply(usdc)).value
    assert supply.decimals == 6 and int(supply.amount) > 0


async def test_slot_and_signature_subscriptions_with_solana_pys_websocket_client(
        tmp_path: Path) -> None:
    wallet = tmp_path / "wallet.json"
    cluster = ClusterProcess(tmp_path / "live.db", "--latency-scale", "0.1", "--failure-rate",
                             "0", "--market-flow", "0", "--fund-keypair", str(wallet))
    await cluster.start()
    engine = EngineProcess(tmp_path / "e.db", "--latency-scale", "0.1", "--failure-rate", "0",
                           "--rpc-url", cluster.url, "--keypair", str(wallet))
    await engine.start()
    try:
        async with SolanaWsClient(cluster.url.replace("http", "ws", 1)) as ws:
            await ws.slot_subscribe()
            slots = [(await asyncio.wait_for(ws.recv(), 5)).result.slot for _ in range(3)]
            assert slots == sorted(slots) and len(set(slots)) == 3
        usdc = get_associated_token_address(Keypair.from_json(wallet.read_text()).pubkey(),
                                            Pubkey.from_string(USDC))
        ws_url = cluster.url.replace("http", "ws", 1)
        async with SolanaWsClient(ws_url) as fast, SolanaWsClient(ws_url) as final, \
                AsyncClient(cluster.url) as reader:
            await fast.account_subscribe(pubkey=usdc, commitment=Confirmed)
            await final.account_subscribe(pubkey=usdc)  # finalized, the default
            await confirmed_sale(engine.url)  # the sale's USDC lands in that account
            changed = (await asyncio.wait_for(fast.recv(), 5)).result
            rooted = (await asyncio.wait_for(final.recv(), 10)).result  # 32 slots on
            assert rooted.context.slot == changed.context.slot  # the same change, told...
            assert rooted.value.data == changed.value.data
            assert (await reader.get_slot()).value >= changed.context.slot  # ...once rooted
        signature = Signature.from_string(await confirmed_sale(engine.url))
        async with AsyncClient(cluster.url) as reader:
            found = (await reader.get_transaction(signature, commitment=Confirmed,
                                                  max_supported_transaction_version=0)).value
            assert found is not None and (await reader.get_slot()).value < found.slot
            async with SolanaWsClient(cluster.url.replace("http", "ws", 1)) as ws:
                await ws.signature_subscribe(signature=signature, commitment=Confirmed)
                landed = await asyncio.wait_for(ws.recv(), 5)  # confirmed: at once
                assert landed.result.value.err is None
            async with SolanaWsClient(cluster.url.replace("http", "ws", 1)) as ws:
                await ws.signature_subscribe(signature=signature)  # finalized, the default
                final = await asyncio.wait_for(ws.recv(), 10)  # once rooted: 32 slots of 0.04 s
                assert final.result.value.err is None
                assert (await reader.get_slot()).value >= found.slot  # the root passed it
    finally:
        await engine.terminate()
        await cluster.terminate()


async def test_accounts_are_served_in_base64_zstd_as_solders_decodes_them(
        tmp_path: Path, client: tuple[AsyncClient, ClusterProcess]) -> None:
    solana, _ = client
    owner = Keypair.from_json((tmp_path / "wallet.json").read_text()).pubkey()
    usdc = get_associated_token_address(owner, Pubkey.from_string(
        "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"))
    plain = (await solana.get_account_info(usdc, encoding="base64")).value
    packed = (await solana.get_account_info(usdc, encoding="base64+zstd")).value
    assert plain is not None and packed is not None and packed.data == plain.data


async def test_a_transaction_in_base58_a_nodes_default_encoding_lands(
        tmp_path: Path, client: tuple[AsyncClient, ClusterProcess]) -> None:
    """As the documentation's examples send it: no configuration, so base58."""
    solana, cluster = client
    payer = Keypair.from_json((tmp_path / "wallet.json").read_text())
    root = (await solana.get_slot()).value
    create, _ = alt.create(payer.pubkey(), payer.pubkey(), root)
    blockhash = (await solana.get_latest_blockhash()).value.blockhash  # finalized, as sent
    tx = VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [create], [], blockhash),
                              [payer])
    answer = json.loads(await raw(cluster.url, "sendTransaction", base58.encode(bytes(tx))))
    assert answer.get("result") == str(tx.signatures[0]), answer
    for _ in range(100):  # it lands at the cluster's next turn
        [status] = (await solana.get_signature_statuses([tx.signatures[0]])).value
        if status is not None:
            break
    # Decoded from base58, run and landed (what its instruction made of a cluster at slot 0,
    # with no earlier slot to make a table from, is the program's business, not this test's).
    assert status is not None
    found = (await solana.get_transaction(tx.signatures[0], commitment=Confirmed,
                                          max_supported_transaction_version=0)).value
    assert found is not None and found.transaction.transaction.signatures == tx.signatures

"""The cluster's ledger as solana-py reads it: blocks with their transactions, the signatures
that named an address, block production, the largest accounts and token accounts; each answer
parsed by solana-py's (solders') own types, and the ledger still there after a restart. The
clients read at `confirmed`: the sales are newer than the 32 slots a block takes to be rooted
(`finalized`, a node's default, is test_cluster_commitment's)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from cluster_clients import confirmed_sale, raw
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solana.rpc.models import TokenAccountOpts
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc.responses import (
    GetBlockProductionResp,
    GetBlocksResp,
    GetBlocksWithLimitResp,
    GetInflationRewardResp,
)
from solders.signature import Signature
from spl.token.instructions import get_associated_token_address

from engine.testing.process import ClusterProcess, EngineProcess

USDC = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")


# One ledger for the module (two process starts and two sales are most of a test's time):
# the tests read it; the one that restarts the cluster leaves it as it was.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ledger(tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[tuple[ClusterProcess, list[str], Pubkey]]:
    """A cluster on which an engine sold SOL twice: (the cluster, the two signatures, the
    wallet)."""
    tmp_path = tmp_path_factory.mktemp("ledger")
    wallet = tmp_path / "wallet.json"
    cluster = ClusterProcess(tmp_path / "cluster.db", "--latency-scale", "0", "--failure-rate",
                             "0", "--market-flow", "0", "--fund-keypair", str(wallet))
    await cluster.start()
    engine = EngineProcess(tmp_path / "e.db", "--latency-scale", "0", "--failure-rate", "0",
                           "--rpc-url", cluster.url, "--keypair", str(wallet))
    await engine.start()
    try:
        signatures = [await confirmed_sale(engine.url), await confirmed_sale(engine.url)]
    finally:
        await engine.terminate()
    yield cluster, signatures, Keypair.from_json(wallet.read_text()).pubkey()
    await cluster.terminate()


async def test_a_block_holds_the_transactions_that_landed_in_its_slot(
        ledger: tuple[ClusterProcess, list[str], Pubkey]) -> None:
    cluster, signatures, _ = ledger
    async with AsyncClient(cluster.url, commitment=Confirmed) as client:
        landed = (await client.get_transaction(Signature.from_string(signatures[1]), "json",
                                               max_supported_transaction_version=0)).value
        assert landed is not None and landed.slot >= 1
        block = (await client.get_block(landed.slot, "json",
                                        max_supported_transaction_version=0)).value
        assert [str(t.transaction.signatures[0]) for t in block.transactions] == [signatures[1]]
        assert block.parent_slot == landed.slot - 1 and block.block_height == landed.slot
        previous = (await client.get_block(landed.slot - 1, "json",
                                           max_supported_transaction_version=0)).value
        assert block.previous_blockhash == previous.blockhash
    blocks = GetBlocksResp.from_json(await raw(cluster.url, "getBlocks", landed.slot - 1,
                                               landed.slot, {"commitment": "confirmed"}))
    assert blocks.value == [landed.slot - 1, landed.slot]
    limited = GetBlocksWithLimitResp.from_json(await raw(cluster.url, "getBlocksWithLimit", 0, 2,
                                                         {"commitment": "confirmed"}))
    assert limited.value == [0, 1]
    refused = await raw(cluster.url, "getBlock", landed.slot,  # no maxSupportedTransactionVersion
                        {"commitment": "confirmed"})
    assert '"code":-32015' in refused
    assert '"code":-32004' in await raw(cluster.url, "getBlock", 10**9)


async def test_the_signatures_that_named_an_address_newest_first(
        ledger: tuple[ClusterProcess, list[str], Pubkey]) -> None:
    cluster, signatures, wallet = ledger
    async with AsyncClient(cluster.url, commitment=Confirmed) as client:
        found = (await client.get_signatures_for_address(wallet)).value
        assert [str(s.signature) for s in found] == signatures[::-1]
        assert found[0].memo is not None and "order:" in found[0].memo and found[0].err is None
        older = (await client.get_signatures_for_address(
            wallet, before=Signature.from_string(signatures[1]))).value
        assert [str(s.signature) for s in older] == [signatures[0]]
        assert len((await client.get_signatures_for_address(wallet, limit=1)).value) == 1
        assert (await client.get_signatures_for_address(Pubkey.new_unique())).value == []


async def test_the_cluster_shape_and_largest_account_methods_parse(
        ledger: tuple[ClusterProcess, list[str], Pubkey]) -> None:
    cluster, _, wallet = ledger
    async with AsyncClient(cluster.url, commitment=Confirmed) as client:
        production = GetBlockProductionResp.from_json(await raw(cluster.url,
                                                                "getBlockProduction"))
        assert len(production.value.by_identity) == 1
        rewards = GetInflationRewardResp.from_json(await raw(
            cluster.url, "getInflationReward", [str(wallet)]))
        assert rewards.value == [None]
        largest = (await client.get_largest_accounts()).value
        assert any(a.address == wallet for a in largest)
        holders = (await client.get_token_largest_accounts(USDC)).value
        assert get_associated_token_address(wallet, USDC) in [h.address for h in holders]
        assert holders == sorted(holders, key=lambda h: int(h.amount.amount), reverse=True)
        delegated = (await client.get_token_accounts_by_delegate(
            wallet, TokenAccountOpts(mint=USDC))).value
        assert delegated == []
        with pytest.raises(RPCException):
            await client.get_token_largest_accounts(wallet)  # not a mint
    assert '"code":-32008' in await raw(cluster.url, "getHighestSnapshotSlot")


async def test_the_ledger_survives_a_restart(
        ledger: tuple[ClusterProcess, list[str], Pubkey]) -> None:
    cluster, signatures, wallet = ledger
    await cluster.terminate()
    await cluster.start()
    async with AsyncClient(cluster.url, commitment=Confirmed) as client:
        found = (await client.get_signatures_for_address(wallet)).value
        assert [str(s.signature) for s in found] == signatures[::-1]
        landed = (await client.get_transaction(Signature.from_string(signatures[1]), "json",
                                               max_supported_transaction_version=0)).value
        assert landed is not None
        block = (await client.get_block(landed.slot, max_supported_transaction_version=0)).value
        assert [str(t.transaction.signatures[0]) for t in block.transactions] == [signatures[1]]


async def test_a_transaction_in_json_parsed_names_its_accounts_and_parses_the_memo(
        ledger: tuple[ClusterProcess, list[str], Pubkey]) -> None:
    cluster, signatures, wallet = ledger
    async with AsyncClient(cluster.url, commitment=Confirmed) as client:
        found = (await client.get_transaction(Signature.from_string(signatures[0]),
                                              "jsonParsed",
                                              max_supported_transaction_version=0)).value
    assert found is not None
    message = found.transaction.transaction.message
    assert message.account_keys[0].pubkey == wallet and message.account_keys[0].signer
    memos = [ix for ix in message.instructions if getattr(ix, "program", "") == "spl-memo"]
    assert len(memos) == 1 and str(memos[0].parsed).startswith("order:")

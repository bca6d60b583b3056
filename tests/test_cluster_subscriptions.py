"""The chain's PubSub subscriptions as solana-py's WebSocket client receives them and solders
parses them: logs (all, and mentioning an address), blocks, roots, slot updates and votes; at
finalized, the default, logs and blocks once their block is rooted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from cluster_clients import confirmed_sale
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.websocket_api import SolanaWsClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc.config import RpcTransactionLogsFilter, RpcTransactionLogsFilterMentions
from solders.rpc.responses import (
    BlockNotification,
    LogsNotification,
    RootNotification,
    SlotUpdateNotification,
    VoteNotification,
)

from engine.testing.process import ClusterProcess, EngineProcess

# One cluster and engine for the module (two process starts are most of a test's time): each
# test subscribes on connections of its own and waits for what comes after it subscribed.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory
               ) -> AsyncIterator[tuple[str, str, Pubkey]]:
    """(the cluster's WebSocket URL, an engine's URL, the engine's wallet), a market moving."""
    tmp_path = tmp_path_factory.mktemp("live")
    wallet = tmp_path / "wallet.json"
    cluster = ClusterProcess(tmp_path / "cluster.db", "--latency-scale", "0.05",
                             "--failure-rate", "0", "--market-flow", "0",
                             "--fund-keypair", str(wallet))
    await cluster.start()
    engine = EngineProcess(tmp_path / "e.db", "--latency-scale", "0.05", "--failure-rate", "0",
                           "--rpc-url", cluster.url, "--keypair", str(wallet))
    await engine.start()
    try:
        yield (cluster.url.replace("http", "ws", 1), engine.url,
               Keypair.from_json(wallet.read_text()).pubkey())
    finally:
        await engine.terminate()
        await cluster.terminate()


async def next_of(ws: SolanaWsClient, kind: type[Any]) -> Any:
    """The next message of this kind (solana-py hands over one message, or a list)."""
    while True:
        received = await asyncio.wait_for(ws.recv(), 10)
        for message in received if isinstance(received, list) else [received]:
            if isinstance(message, kind):
                return message


async def test_logs_of_every_transaction_and_of_those_naming_an_address(
        live: tuple[str, str, Pubkey]) -> None:
    url, engine, wallet = live
    async with SolanaWsClient(url) as everything, SolanaWsClient(url) as mine, \
            SolanaWsClient(url) as nobody:
        await everything.logs_subscribe(filter_=RpcTransactionLogsFilter.All)
        await mine.logs_subscribe(filter_=RpcTransactionLogsFilterMentions(wallet))
        await nobody.logs_subscribe(
            filter_=RpcTransactionLogsFilterMentions(Pubkey.new_unique()))
        signature = await confirmed_sale(engine)
        for ws in (everything, mine):
            logs = (await next_of(ws, LogsNotification)).result.value
            assert str(logs.signature) == signature and logs.err is None
            assert logs.logs and logs.logs[-1] == "Transaction succeeded"
        try:
            await asyncio.wait_for(nobody.recv(), 0.5)
            raise AssertionError("a transaction that did not name the address was sent")
        except TimeoutError:
            pass


async def test_logs_at_finalized_are_told_once_their_block_is_rooted(
        live: tuple[str, str, Pubkey]) -> None:
    url, engine, wallet = live
    mentions = RpcTransactionLogsFilterMentions(wallet)
    async with SolanaWsClient(url) as fast, SolanaWsClient(url) as final, \
            AsyncClient(url.replace("ws", "http", 1)) as reader:
        await fast.logs_subscribe(filter_=mentions, commitment=Confirmed)
        await final.logs_subscribe(filter_=mentions)  # finalized, the default
        signature = await confirmed_sale(engine)
        told = (await next_of(fast, LogsNotification)).result
        rooted = (await next_of(final, LogsNotification)).result
        assert str(told.value.signature) == str(rooted.value.signature) == signature
        assert (await reader.get_slot()).value >= rooted.context.slot  # the root passed it


async def test_a_block_is_sent_once_its_slot_is_over(live: tuple[str, str, Pubkey]) -> None:
    url, engine, _ = live
    async with SolanaWsClient(url) as ws:
        await ws.block_subscribe(max_supported_transaction_version=0)
        signature = await confirmed_sale(engine)
        while True:
            block = (await next_of(ws, BlockNotification)).result.value
            transactions = block.block.transactions or []
            if transactions:
                break
        assert [str(t.transaction.signatures[0]) for t in transactions] == [signature]
        assert block.slot == block.block.block_height
        async with AsyncClient(url.replace("ws", "http", 1)) as reader:  # at finalized, the
            assert (await reader.get_slot()).value >= block.slot  # default: once rooted


async def test_a_block_subscription_at_processed_is_refused_as_agave_refuses_it(
        live: tuple[str, str, Pubkey]) -> None:
    url, _, _ = live
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        for number, level in enumerate(("processed", "confirmed")):
            await ws.send_json({"jsonrpc": "2.0", "id": number, "method": "blockSubscribe",
                                "params": ["all", {"commitment": level}]})
            answer = await ws.receive_json(timeout=5)
            while "id" not in answer:  # a block of the confirmed subscription, once made
                answer = await ws.receive_json(timeout=5)
            if level == "processed":
                assert answer["error"] == {"code": -32602, "message": "Method does not "
                                           "support commitment below `confirmed`"}
            else:
                assert isinstance(answer["result"], int)


async def test_roots_slot_updates_and_votes_follow_the_slots(
        live: tuple[str, str, Pubkey]) -> None:
    url, _, _ = live
    async with SolanaWsClient(url) as ws:
        await ws.root_subscribe()
        await ws.slots_updates_subscribe()
        await ws.vote_subscribe()
        root = (await next_of(ws, RootNotification)).result
        update = (await next_of(ws, SlotUpdateNotification)).result
        vote = (await next_of(ws, VoteNotification)).result
        assert root >= 0 and update.slot >= root and vote.slots[0] >= root

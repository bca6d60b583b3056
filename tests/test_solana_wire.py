"""Real Solana transactions: what the engine signs, as a validator's RPC would return it, read
with solders against ../shared/market/wire.md; and the JSON-RPC edge's errors and fees."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from cluster_clients import chain_adapter
from solders.transaction import VersionedTransaction

from engine.clock import SystemClock
from engine.config import Settings
from engine.domain.errors import NodeUnhealthy, RateLimited
from engine.simulator.genesis import open_world
from engine.simulator.world import SimWorld
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError
from engine.solana_client.chain import RpcChain
from engine.solana_client.client import RpcClient
from engine.solana_client.keypair import load_or_create
from engine.solana_client.transports import InProcess, Notify
from engine.testing import EngineHarness
from engine.testing.cluster import standalone_cluster, still_world, wallet_for

SOL = "So11111111111111111111111111111111111111112"
USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111"
MEMO = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr"
TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
AMM_V4 = "675kPX9MHTjS2zt1qfr1NYHuzeLXfQM9H24wFSUt1Mp8"
DLMM = "LBUZKhRxPF3XUpBCjp4YzTKgLccjZhTSDM9YuVaPwxo"


class Cluster:
    """`python -m engine cluster`, in this process: the simulated cluster behind HTTP."""

    def __init__(self, world: SimWorld, url: str) -> None:
        self.world, self.url = world, url

    async def call(self, method: str, *params: Any) -> dict[str, Any]:
        async with aiohttp.ClientSession() as session, session.post(self.url, json={
                "jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}) as resp:
            return dict(await resp.json())


@pytest_asyncio.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    world = still_world(tmp_path / "cluster.db",
                        funded=wallet_for(tmp_path / "wallet.json"))
    async with standalone_cluster(world) as url:
        yield Cluster(world, url)


@pytest_asyncio.fixture
async def remote(cluster: Cluster, tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with EngineHarness.start(tmp_path / "e.db", rpc_url=cluster.url) as engine:
        engine.world.hold_prices()
        yield engine


def keys(tx: VersionedTransaction) -> list[str]:
    return [str(k) for k in tx.message.account_keys]


def instructions(tx: VersionedTransaction) -> list[tuple[str, list[str], bytes]]:
    k = keys(tx)
    return [(k[ix.program_id_index], [k[i] for i in bytes(ix.accounts)], bytes(ix.data))
            for ix in tx.message.instructions]


async def test_a_confirmed_orders_transaction_reads_back_as_wire_md_says(
        remote: EngineHarness, cluster: Cluster) -> None:
    final = await remote.wait_terminal(await remote.submit(
        tokenIn="SOL", tokenOut="USDC", amount=2, slippage=0.01))
    assert final["status"] == "confirmed"
    found = (await cluster.call("getTransaction", final["txHash"], {
        "encoding": "base64", "maxSupportedTransactionVersion": 0}))["result"]
    tx = VersionedTransaction.from_bytes(base64.b64decode(found["transaction"][0]))
    assert all(tx.verify_with_results()) and str(tx.signatures[0]) == final["txHash"]
    programs = [program for program, _, _ in instructions(tx)]
    assert programs[:2] == [COMPUTE_BUDGET, COMPUTE_BUDGET] and programs[-1] == MEMO
    assert instructions(tx)[-1][2].decode() == f"order:{final['orderId']}:1"
    program, accounts, data = next(i for i in instructions(tx) if i[0] in (AMM_V4, DLMM))
    wallet = (await remote.order(final["orderId"]))  # the fee payer is the engine's wallet
    assert wallet["status"] == "confirmed"
    owner = keys(tx)[0]
    if program == DLMM:  # swap(amount_in u64, min_amount_out u64), 15 accounts + bin arrays
        assert data[:8] == bytes([248, 198, 158, 145, 225, 117, 135, 200])
        assert accounts[10] == owner and accounts[14] == DLMM and len(accounts) >= 15
    else:  # SwapBaseInV2: tag 16, then the 8 accounts in the program's order
        assert data[0] == 16 and accounts[0] == TOKEN and accounts[7] == owner
    amount_in, minimum = struct.unpack_from("<QQ", data, 8 if program == DLMM else 1)
    assert amount_in == 2 * 10**9
    routed = next(e for e in await remote.history(final["orderId"]) if e["status"] == "routing")
    assert minimum == int(int(routed["route"]["outAmount"]) * 0.99)
    limit = struct.unpack_from("<I", instructions(tx)[0][2], 1)[0]
    assert limit == max(50_000, math.ceil(found["meta"]["computeUnitsConsumed"] * 1.1))


async def test_the_wallet_moves_by_exactly_the_fill_as_the_cluster_reports_it(
        remote: EngineHarness, cluster: Cluster) -> None:
    async def usdc() -> int:
        answer = await cluster.call("getTokenAccountsByOwner", address, {"mint": USDC},
                                    {"encoding": "jsonParsed"})
        info = answer["result"]["value"][0]["account"]["data"]["parsed"]["info"]
        return int(info["tokenAmount"]["amount"])

    assert remote.http is not None
    async with remote.http.get("/api/wallet") as resp:
        address = (await resp.json())["address"]
    before = await usdc()
    final = await remote.wait_terminal(await remote.submit(tokenIn="SOL", tokenOut="USDC",
                                                           amount=1))
    assert await usdc() - before == round(float(final["amountOut"]) * 10**6)


async def test_a_tampered_signature_is_refused_with_32003(cluster: Cluster,
                                                         tmp_path: Path) -> None:
    chain = client(cluster.world, tmp_path)
    tx = await signed(chain, cluster.world)
    raw = bytearray(base64.b64decode(tx.payload))
    raw[5] ^= 0xFF  # inside the first signature
    answer = await cluster.call("sendTransaction", base64.b64encode(bytes(raw)).decode(),
                                {"encoding": "base64"})
    assert answer["error"]["code"] == -32003


async def test_a_rebroadcast_of_a_landed_transaction_is_already_processed_and_harmless(
        cluster: Cluster, tmp_path: Path) -> None:
    chain = client(cluster.world, tmp_path)
    tx = await signed(chain, cluster.world)
    await chain.send(tx)
    assert await chain.confirm(tx) is not None
    answer = await cluster.call("sendTransaction", tx.payload, {"encoding": "base64"})
    assert answer["error"]["data"]["err"] == "AlreadyProcessed"
    await chain.send(tx)  # the engine takes it as landed
    assert len([t for t in cluster.world.chain.history.ledger.values()
                if t.signature == tx.signature]) == 1


async def test_a_preflight_failure_is_permanent_and_names_the_programs_error(
        order_engine: EngineHarness) -> None:
    order_engine.world.chain.wallet.balances[USDC] = 10 * 10**6
    final = await order_engine.wait_terminal(await order_engine.submit(
        tokenIn="USDC", tokenOut="SOL", amount=100))  # more than the wallet holds
    assert final["status"] == "failed" and final["error"]["code"] == "INSUFFICIENT_FUNDS"
    assert final["attempt"] == 1 and "0x1" in final["error"]["message"]


@pytest.mark.parametrize("error", [RateLimited, NodeUnhealthy])
async def test_429_and_node_unhealthy_are_retried(order_engine: EngineHarness,
                                                   error: type[RateLimited]) -> None:
    order_engine.world.faults.fail_send(error, attempt=1)
    order_id = await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed" and final["attempt"] == 2
    building = [e for e in await order_engine.history(order_id) if e["status"] == "building"]
    assert building[1]["previousError"]["code"] == error.code


async def test_429_over_http_is_retried(remote: EngineHarness, cluster: Cluster) -> None:
    cluster.world.faults.fail_send(RateLimited, attempt=1)
    final = await remote.wait_terminal(await remote.submit(tokenIn="SOL", tokenOut="USDC",
                                                           amount=1))
    assert final["status"] == "confirmed" and final["attempt"] == 2


async def test_an_unlanded_transaction_is_re_signed_only_after_its_blockhash_expired(
        order_engine: EngineHarness) -> None:
    order_engine.world.faults.drop(attempt=1)  # accepted by the node, never landed
    order_id = await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed" and final["attempt"] == 2
    building = [e for e in await order_engine.history(order_id) if e["status"] == "building"]
    assert building[1]["previousError"]["code"] == "BLOCKHASH_EXPIRED"
    first_expiry = building[0]["lastValidBlockHeight"]
    assert building[1]["lastValidBlockHeight"] - 150 > first_expiry  # a blockhash made after


async def test_the_priority_fee_rises_with_the_fee_market(tmp_path: Path) -> None:
    world = open_world(SystemClock(), seed=5, latency_scale=0, failure_rate=0,
                       funded=wallet_for(tmp_path / "wallet.json"))
    chain = client(world, tmp_path)
    pool = str(world.pool_info("met-sol-usdc").keys.address)
    quiet = await chain.priority_fee([pool], "auto")
    for slot in range(100):  # other traders crowd the pool, each bidding above the last
        for _ in range(5):
            world.chain.fees.others(slot, pool)
    busy = await chain.priority_fee([pool], "auto")
    assert busy > 5 * quiet
    assert await chain.priority_fee([pool], "high") > busy
    assert await chain.priority_fee([pool], 123) == 123
    assert await chain.priority_fee([pool], 10**12) == Settings().max_priority_fee


def client(world: SimWorld, tmp_path: Path) -> RpcChain:
    return chain_adapter(world, tmp_path / "wallet.json")


async def signed(chain: RpcChain, world: SimWorld) -> Any:
    from engine.domain.transactions import Memo, SwapInstruction
    ix = SwapInstruction("raydium", "ray-sol-usdc", SOL, USDC, 10**8, 1)
    return await chain.sign([ix], await chain.latest_blockhash(), Memo("o-1", 1))


async def test_an_orders_priority_fee_is_what_its_transaction_bids(
        order_engine: EngineHarness) -> None:
    final = await order_engine.wait_terminal(await order_engine.submit(
        tokenIn="SOL", tokenOut="USDC", amount=1, priorityFee=12_345))
    landed = order_engine.world.chain.history.details[final["txHash"]][0]
    tx = VersionedTransaction.from_bytes(base64.b64decode(landed))
    price = struct.unpack_from("<Q", instructions(tx)[1][2], 1)[0]
    assert price == 12_345
    events = await order_engine.history(final["orderId"])
    assert events[0]["priorityFee"] == 12_345


@pytest.mark.parametrize("value", ["fast", -1, 1.5, "1e3x", True, 10**9])
async def test_a_bad_priority_fee_is_refused(order_engine: EngineHarness, value: Any) -> None:
    status, body = await order_engine.post_order({
        "orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1,
        "priorityFee": value})
    assert status == 422 and body["error"]["field"] == "priorityFee"


class Forgetful:
    """The in-process node, which fails the first `failures` questions about a transaction's
    fate, as a node that is restarting or rate-limiting does."""

    def __init__(self, inner: InProcess, failures: int, code: int) -> None:
        self._inner, self.failures, self._code = inner, failures, code
        self.asked = 0

    @property
    def connection(self) -> int | None:
        return self._inner.connection

    async def request(self, method: str, params: list[Any]) -> Any:
        if method in ("getSignatureStatuses", "getBlockHeight") and self.failures:
            self.failures -= 1
            self.asked += 1
            raise RpcError(self._code, f"{method}: not now")
        return await self._inner.request(method, params)

    async def subscribe(self, method: str, params: list[Any], notify: Notify) -> int:
        return await self._inner.subscribe(method, params, notify)

    async def unsubscribe(self, method: str, number: int) -> None:
        await self._inner.unsubscribe(method, number)


@pytest.mark.parametrize("code", [codes.NODE_UNHEALTHY, codes.RATE_LIMITED_HTTP])
async def test_a_sent_transaction_is_waited_for_through_a_node_that_cannot_answer_for_now(
        cluster: Cluster, tmp_path: Path, code: int) -> None:
    """Until a sent transaction's fate is known it may still land: a failed look is not a
    failed attempt (which would sign another, and could execute twice), just a look again."""
    node = Forgetful(InProcess(cluster.world.rpc), failures=5, code=code)
    chain = RpcChain(RpcClient(node), load_or_create(tmp_path / "wallet.json"), cluster.world,
                     SystemClock(), poll_seconds=0, max_priority_fee=Settings().max_priority_fee,
                     memory=None)
    tx = await signed(chain, cluster.world)
    await chain.send(tx)
    landed = await chain.confirm(tx)
    assert node.asked == 5 and landed is not None and landed.err is None
    assert landed.signature == tx.signature

"""The node goes away under a running engine (`--rpc-url`): killed, or frozen (a process
stopped, a host that stopped answering). /healthz says so within the second, and says "ok"
again once the node is back. Before, it said "ok" throughout: an idle engine whose node was gone
looked healthy, and a busy one only said it through its failing orders."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
from cluster_clients import node_and_engine

from engine.testing import EngineHarness
from engine.testing.process import ClusterProcess, health, healthy, says, statuses

PATIENCE = 30.0  # seconds a condition may take to hold
MARKET = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.01}


async def test_a_frozen_node_makes_the_engine_degraded_within_the_second(tmp_path: Path) -> None:
    async with node_and_engine(tmp_path) as (cluster, engine), aiohttp.ClientSession() as session:
        assert healthy(await health(session, engine.url))
        assert cluster.proc is not None
        cluster.proc.send_signal(signal.SIGSTOP)  # it accepts connections and answers nothing
        slowest = 0.0

        async def timed() -> dict[str, Any]:
            nonlocal slowest
            asked = time.monotonic()
            found = await health(session, engine.url)
            slowest = max(slowest, time.monotonic() - asked)
            return found

        # The last answer is kept for a second: a second at most before it is said.
        found = await EngineHarness.wait_until(timed, says("the node cannot serve"), PATIENCE)
        assert found["status"] == "degraded"
        assert found["reasons"] == ["the node cannot serve (no answer within 1 s)"]
        assert slowest < 5  # health itself does not hang with the node

        cluster.proc.send_signal(signal.SIGCONT)
        await EngineHarness.wait_until(lambda: health(session, engine.url), healthy, PATIENCE)


async def test_a_node_that_is_down_is_said_and_its_return_noticed(tmp_path: Path) -> None:
    async with node_and_engine(tmp_path) as (cluster, engine), aiohttp.ClientSession() as session:
        cluster.kill()
        down = await EngineHarness.wait_until(lambda: health(session, engine.url),
                                              says("the node cannot serve (getHealth:"), PATIENCE)
        assert down["status"] == "degraded" and "Cannot connect" in down["reasons"][0]
        # Quotes and orders say the node, not a route refused for want of liquidity.
        async with session.get(f"{engine.url}/api/quotes", params={
                "inputMint": "SOL", "outputMint": "USDC", "amount": "1000000000"}) as resp:
            assert resp.status == 503 and resp.headers["Retry-After"] == "1"
            assert (await resp.json())["error"]["code"] == "NODE_UNHEALTHY"
        async with session.get(f"{engine.url}/api/wallet") as resp:  # its balances: the same
            assert resp.status == 503 and (await resp.json())["error"]["code"] == "NODE_UNHEALTHY"
        async with session.post(f"{engine.url}/api/orders/execute", json=MARKET) as resp:
            failed_id = (await resp.json())["orderId"]
        await EngineHarness.wait_until(lambda: statuses(session, engine.url, [failed_id]),
                                       lambda found: found == {"failed"}, PATIENCE)
        async with session.get(f"{engine.url}/api/orders/{failed_id}") as resp:
            error = (await resp.json())["error"]
        assert error["code"] == "RETRIES_EXHAUSTED" and "NODE_UNHEALTHY" in error["message"]

        await cluster.start()  # the same port and record: the same cluster, back
        await EngineHarness.wait_until(lambda: health(session, engine.url), healthy, PATIENCE)
        async with session.post(f"{engine.url}/api/orders/execute", json=MARKET) as resp:
            order_id = (await resp.json())["orderId"]
        await EngineHarness.wait_until(lambda: statuses(session, engine.url, [order_id]),
                                       lambda found: found == {"confirmed"}, PATIENCE)


async def test_with_a_notional_limit_an_order_placed_while_the_node_is_down_is_asked_again_later(
        tmp_path: Path) -> None:
    # Its worth cannot be known without the pools: the node's 503, not a 422 blaming the order.
    async with node_and_engine(tmp_path, "--max-order-usd", "100000") as (cluster, engine), \
            aiohttp.ClientSession() as session:
        cluster.kill()
        await EngineHarness.wait_until(lambda: health(session, engine.url),
                                       says("the node cannot serve (getHealth:"), PATIENCE)
        async with session.post(f"{engine.url}/api/orders/execute", json=MARKET) as resp:
            assert resp.status == 503 and resp.headers["Retry-After"] == "1"
            assert (await resp.json())["error"]["code"] == "NODE_UNHEALTHY"
        await cluster.start()
        await EngineHarness.wait_until(lambda: health(session, engine.url), healthy, PATIENCE)
        async with session.post(f"{engine.url}/api/orders/execute", json=MARKET) as resp:
            assert resp.status == 201
            order_id = (await resp.json())["orderId"]
        await EngineHarness.wait_until(lambda: statuses(session, engine.url, [order_id]),
                                       lambda found: found == {"confirmed"}, PATIENCE)


async def test_a_node_that_became_another_cluster_is_not_used_until_it_is_ours_again(
        tmp_path: Path) -> None:
    # A simulated cluster started again on a fresh record behind the same URL: another chain.
    # Orders sent to it would execute where their earlier attempts never were, and a fate
    # read from it ("never landed") would be wrong; the engine treats it as no node at all.
    async with node_and_engine(tmp_path) as (cluster, engine), aiohttp.ClientSession() as session:
        cluster.kill()
        other = ClusterProcess(tmp_path / "other.db", "--latency-scale", "0", "--failure-rate",
                               "0", "--fund-keypair", str(tmp_path / "wallet.json"),
                               log=tmp_path / "other.log")
        other.port, other.url = cluster.port, cluster.url
        await other.start()
        try:
            fenced = await EngineHarness.wait_until(lambda: health(session, engine.url),
                                                    says("is now another cluster"), PATIENCE)
            assert fenced["status"] == "degraded"
            async with session.post(f"{engine.url}/api/orders/execute", json=MARKET) as resp:
                order_id = (await resp.json())["orderId"]
            await EngineHarness.wait_until(lambda: statuses(session, engine.url, [order_id]),
                                           lambda found: found == {"failed"}, PATIENCE)
            async with session.get(f"{engine.url}/api/orders/{order_id}") as resp:
                assert "is now another cluster" in (await resp.json())["error"]["message"]
        finally:
            await other.terminate()
        ledger = sqlite3.connect(tmp_path / "other.db")
        assert ledger.execute("SELECT count(*) FROM ledger").fetchone() == (0,)  # nothing sent
        ledger.close()

        await cluster.start()  # ours again, from its record
        await EngineHarness.wait_until(lambda: health(session, engine.url), healthy, PATIENCE)
        async with session.post(f"{engine.url}/api/orders/execute", json=MARKET) as resp:
            order_id = (await resp.json())["orderId"]
        await EngineHarness.wait_until(lambda: statuses(session, engine.url, [order_id]),
                                       lambda found: found == {"confirmed"}, PATIENCE)

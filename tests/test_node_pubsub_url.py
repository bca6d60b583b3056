"""The node's PubSub where `--ws-url` says it is: a solana-test-validator serves it on the port
after its JSON-RPC's, where our cluster serves it on both. The engine subscribes where it is
told; without a PubSub it can reach it says so, reads the pools once a slot instead, and its
waiting orders still fire when prices move."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import aiohttp

from engine.domain.tokens import WSOL_MINT
from engine.testing import EngineHarness
from engine.testing.process import ClusterProcess, EngineProcess, free_port, statuses

PATIENCE = 30.0
USDC_MINT = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


async def place(session: aiohttp.ClientSession, url: str, **order: object) -> str:
    async with session.post(f"{url}/api/orders/execute", json=order) as resp:
        assert resp.status == 201, await resp.text()
        return str((await resp.json())["orderId"])


async def settled(session: aiohttp.ClientSession, url: str, order_id: str) -> set[str]:
    return await EngineHarness.wait_until(lambda: statuses(session, url, [order_id]),
                                          lambda found: found <= {"confirmed", "failed"},
                                          PATIENCE)


async def sol_price(session: aiohttp.ClientSession, url: str) -> Decimal:
    """USDC a SOL fetches now (a quote for 0.01 SOL)."""
    params = {"inputMint": WSOL_MINT, "outputMint": USDC_MINT, "amount": "10000000"}
    async with session.get(f"{url}/api/quotes", params=params) as resp:
        return Decimal((await resp.json())["outAmount"]) / 10**6 * 100


async def a_limit_fires_when_the_price_moves(engine: EngineProcess) -> set[str]:
    """A limit sell a little above the price, then a large buy that lifts it: the limit's end."""
    async with aiohttp.ClientSession() as session:
        limit = (await sol_price(session, engine.url) * Decimal("1.0004")).quantize(Decimal("0.01"))
        waiting = await place(session, engine.url, orderType="limit", tokenIn="SOL",
                              tokenOut="USDC", amount=0.01, limitPrice=str(limit))
        assert await EngineHarness.wait_until(
            lambda: statuses(session, engine.url, [waiting]),
            lambda found: found != {"pending"}, PATIENCE) == {"waiting"}
        lift = await place(session, engine.url, orderType="market", tokenIn="USDC",
                           tokenOut="SOL", amount=20_000, slippage=0.05)
        assert await settled(session, engine.url, lift) == {"confirmed"}
        return await settled(session, engine.url, waiting)


async def test_the_engine_subscribes_on_the_pubsub_ws_url_names(tmp_path: Path) -> None:
    sim = ("--latency-scale", "0", "--failure-rate", "0", "--market-flow", "0")
    wallet = str(tmp_path / "wallet.json")
    pubsub = free_port()
    cluster = ClusterProcess(tmp_path / "chain.db", *sim, "--fund-keypair", wallet,
                             "--pubsub-port", str(pubsub))
    await cluster.start()
    try:
        for name, port in (("told", pubsub), ("nowhere", free_port())):
            log = tmp_path / f"{name}.log"
            engine = EngineProcess(tmp_path / f"{name}.db", *sim, "--rpc-url", cluster.url,
                                   "--ws-url", f"ws://127.0.0.1:{port}", "--keypair", wallet,
                                   "--requests-per-second", "0", log=log)
            await engine.start()
            try:
                assert await a_limit_fires_when_the_price_moves(engine) == {"confirmed"}
            finally:
                await engine.terminate()
            unreachable = [line for line in log.read_text().splitlines()
                           if "PubSub not reached" in line]
            if name == "told":
                assert unreachable == []
            else:  # it tried the port it was given, and traded on what it read once a slot
                assert unreachable and f"PubSub at ws://127.0.0.1:{port}" in unreachable[0]
    finally:
        await cluster.terminate()

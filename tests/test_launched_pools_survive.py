"""A launched pool is part of the chain's durable record: a sniper's swap on it survives a
SIGKILL of the engine, and the wallet after the restart is what the ledger says."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine.domain import base58
from engine.testing.process import EngineProcess

SIM = ("--latency-scale", "0", "--failure-rate", "0", "--seed", "5", "--sim-api")


async def wallet(session: aiohttp.ClientSession, url: str) -> dict[str, str]:
    async with session.get(f"{url}/api/wallet") as resp:
        return {b["mint"]: b["atoms"] for b in (await resp.json())["balances"]}


async def terminal(session: aiohttp.ClientSession, url: str, order_id: str) -> dict[str, Any]:
    for _ in range(400):
        async with session.get(f"{url}/api/orders/{order_id}") as resp:
            order: dict[str, Any] = await resp.json()
        if order["status"] in ("confirmed", "failed"):
            return order
        await asyncio.sleep(0.025)
    raise AssertionError(f"{order_id} is still {order['status']}")


@pytest.mark.parametrize("venue", ["raydium", "meteora"])
async def test_a_snipe_on_a_launched_pool_survives_a_sigkill(tmp_path: Path, venue: str) -> None:
    db, mint = tmp_path / "e.db", base58.encode(os.urandom(32))
    engine = EngineProcess(db, *SIM)
    await engine.start()
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{engine.url}/api/orders/execute", json={
                "orderType": "sniper", "tokenIn": "SOL", "tokenOut": mint, "amount": 0.5,
                "slippage": 0.2}) as resp:
            assert resp.status == 201
            order_id = (await resp.json())["orderId"]
        async with session.post(f"{engine.url}/api/sim/launch", json={
                "mint": mint, "venue": venue, "price": "0.000001", "liquidity": "100"}) as resp:
            assert resp.status == 201
        assert (await terminal(session, engine.url, order_id))["status"] == "confirmed"
        before = await wallet(session, engine.url)
        assert int(before[mint]) > 0
        engine.kill()
        again = EngineProcess(db, *SIM)
        await again.start()
        try:
            assert await wallet(session, again.url) == before
            # The launched pool trades on after the restart: another snipe of it fills.
            async with session.post(f"{again.url}/api/orders/execute", json={
                    "orderType": "sniper", "tokenIn": "SOL", "tokenOut": mint,
                    "amount": 0.1, "slippage": 0.2}) as resp:
                assert resp.status == 201, await resp.text()
                sold = (await resp.json())["orderId"]
            assert (await terminal(session, again.url, sold))["status"] == "confirmed"
        finally:
            await again.terminate()

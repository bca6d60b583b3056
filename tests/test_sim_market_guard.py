"""The simulated market's controls are opt-in, and nothing sent to them can poison the market."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.domain.tokens import lookup
from engine.testing import EngineHarness

SOL, USDC = (lookup(s).mint for s in ("SOL", "USDC"))  # type: ignore[union-attr]
QUOTE = "/api/quotes?inputMint=SOL&outputMint=USDC&amount=1000000000"


async def post(engine: EngineHarness, path: str, body: Any) -> tuple[int, Any]:
    assert engine.http is not None
    async with engine.http.post(path, json=body) as resp:
        return resp.status, await resp.json()


async def get(engine: EngineHarness, path: str) -> tuple[int, Any]:
    assert engine.http is not None
    async with engine.http.get(path) as resp:
        return resp.status, await resp.json()


async def test_the_sim_api_is_not_served_unless_asked_for(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", sim_api=False) as engine:
        assert (await post(engine, "/api/sim/launch", {}))[0] == 404
        assert await get(engine, "/api/sim") == (200, {"enabled": False})  # says so, no 404
    async with EngineHarness.start(tmp_path / "f.db", sim_api=True) as engine:
        status, body = await get(engine, "/api/sim")
        assert status == 200 and body["enabled"] is True


@pytest.mark.parametrize("launch,code", [
    ({"venue": "raydium", "liquidity": 1e-10}, "INVALID_NUMBER"),
    ({"venue": "raydium", "price": 999999999}, "INVALID_NUMBER"),
    ({"venue": "meteora", "price": "1e-400"}, "INVALID_NUMBER"),
    ({"venue": "raydium", "price": "1e-30", "liquidity": 1000}, "INVALID_NUMBER"),
    ({"venue": "meteora", "price": "0.000000001", "liquidity": 10_000_000}, "INVALID_LAUNCH"),
    ({"venue": "raydium", "price": 10_000, "liquidity": 1}, "INVALID_LAUNCH")])
async def test_a_launch_the_market_cannot_hold_is_refused_and_quotes_still_work(
        order_engine: EngineHarness, launch: dict[str, Any], code: str) -> None:
    status, body = await post(order_engine, "/api/sim/launch", launch)
    assert (status, body["error"]["code"]) == (422, code)
    status, quote = await get(order_engine, QUOTE)
    assert status == 200 and int(quote["outAmount"]) > 0
    assert (await get(order_engine, "/healthz"))[1]["status"] == "ok"


async def test_launches_beyond_the_rate_are_told_to_wait(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", launches_per_minute=2) as engine:
        answers = [await post(engine, "/api/sim/launch", {}) for _ in range(3)]
        assert [status for status, _ in answers] == [201, 201, 429]


class BrokenPool:
    """A pool whose state went bad: every computation on it raises."""

    id = "ray-broken-sol-usdc"
    mints = (SOL, USDC)

    def depth(self, mint: str) -> int:
        return 10**12

    def swap_out(self, mint_in: str, amount_in: int, now: int) -> tuple[int, int]:
        raise ArithmeticError("reserves went negative")

    def swap(self, mint_in: str, amount_in: int, now: int) -> int:
        raise ArithmeticError("reserves went negative")

    def spot_price(self, mint_in: str) -> float:
        return 150.0

    def scale_price(self, factor: float) -> None: ...

    def state(self) -> Any:
        return []

    def restore(self, state: Any) -> None: ...


async def test_a_pool_whose_math_fails_is_frozen_once_and_health_says_why(
        order_engine: EngineHarness) -> None:
    order_engine.world.raydium.add_pool(BrokenPool(), "Raydium", 0)
    for _ in range(3):  # every quote still answers, from the healthy pools
        status, quote = await get(order_engine, QUOTE)
        assert status == 200 and quote["routePlan"][0]["swapInfo"]["ammKey"] != BrokenPool.id
    assert list(order_engine.world.raydium.frozen) == [BrokenPool.id]
    health = (await get(order_engine, "/healthz"))[1]
    assert health["status"] == "degraded" and BrokenPool.id in health["reasons"][0]
    final = await order_engine.wait_terminal(
        await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1))
    assert final["status"] == "confirmed"


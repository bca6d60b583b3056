"""The simulated market's controls are opt-in, and nothing sent to them can poison the market."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from solders.pubkey import Pubkey

from engine.domain.tokens import lookup
from engine.simulator.world import SimWorld
from engine.solana.accounts import AMM_INFO
from engine.solana.pool_accounts import Account
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
        assert status == 200 and body["enabled"] is True and body["canLaunch"] is True


async def test_the_sim_api_tells_each_key_whether_it_may_launch(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", sim_api=True) as engine:
        assert engine.http is not None
        admin = await engine.create_key("ops", "admin")
        trader = await engine.create_key("bot", "trade")
        for key, may in ((admin, True), (trader, False)):
            auth = {"Authorization": f"Bearer {key}"}
            async with engine.http.get("/api/sim", headers=auth) as resp:
                assert resp.status == 200 and (await resp.json())["canLaunch"] is may
            async with engine.http.post("/api/sim/launch", json={}, headers=auth) as resp:
                assert resp.status == (201 if may else 403)  # as it said


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


def with_bad_fee(world: SimWorld, pool_id: str) -> Callable[[str], dict[Pubkey, Account]]:
    """The cluster's pool accounts, but this AMM v4 pool's state with a fee denominator of 0:
    a pool whose state went bad (its every swap would divide by zero)."""
    served = world.as_accounts.pool_accounts
    address = world.pool_info(pool_id).keys.address

    def accounts(asked: str) -> dict[Pubkey, Account]:
        found = served(asked)
        if asked != pool_id:
            return found
        state = found[address]
        broken = AMM_INFO.encode({**AMM_INFO.decode(state.data), "swap_fee_denominator": 0})
        return {**found, address: Account(state.owner, broken, state.lamports)}
    return accounts


async def test_a_pool_whose_math_fails_is_left_out_until_its_accounts_change_and_health_says_why(
        order_engine: EngineHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    world = order_engine.world
    world.hold_prices()
    pool_id = next(p for p in world.raydium.pools if world.pool_info(p).kind == "amm_v4"
                   and set(world.pool(p).mints) == {SOL, USDC})
    address = str(world.pool_info(pool_id).keys.address)
    monkeypatch.setattr(world.as_accounts, "pool_accounts", with_bad_fee(world, pool_id))
    world.notify(None)
    health = await order_engine.wait_until(lambda: get(order_engine, "/healthz"),
                                           lambda h: h[1]["status"] == "degraded")
    assert address in health[1]["reasons"][0] and "swap_fee_denominator" in health[1]["reasons"][0]
    for _ in range(3):  # every quote still answers, from the healthy pools
        status, quote = await get(order_engine, QUOTE)
        assert status == 200 and quote["routePlan"][0]["swapInfo"]["ammKey"] != address
    final = await order_engine.wait_terminal(
        await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1))
    assert final["status"] == "confirmed"
    monkeypatch.undo()  # the pool's accounts are written again, well this time
    world.notify(None)
    health = await order_engine.wait_until(lambda: get(order_engine, "/healthz"),
                                           lambda h: h[1]["status"] == "ok")
    assert "reasons" not in health[1]


class BrokenPool:
    """A simulated pool whose state went bad: every swap on it raises."""

    id = "ray-broken-sol-usdc"
    mints = (SOL, USDC)

    def depth(self, mint: str) -> int:
        return 10**12

    def spot_price(self, mint_in: str) -> float:
        return 150.0

    def swap(self, mint_in: str, amount_in: int, now: int) -> int:
        raise ArithmeticError("reserves went negative")


async def test_a_market_pool_whose_swaps_fail_is_frozen_once_and_health_says_why(
        order_engine: EngineHarness) -> None:
    world = order_engine.world
    broken = BrokenPool()
    world.raydium.add_pool(broken, world.chain.block_height)  # type: ignore[arg-type]
    world.traders.add(broken, 150.0 * 10**-3)  # type: ignore[arg-type]
    for _ in range(200):  # other traders pick it before long (30 % of slots)
        world.trade(world.chain.now())
        if world.raydium.frozen:
            break
    assert list(world.raydium.frozen) == [BrokenPool.id]
    for _ in range(3):  # frozen once: no longer traded, nor frozen again
        world.trade(world.chain.now())
    health = (await get(order_engine, "/healthz"))[1]
    assert health["status"] == "degraded" and health["reasons"] == [
        "raydium pool ray-broken-sol-usdc frozen (swap failed: ArithmeticError: reserves went "
        "negative)"]
    final = await order_engine.wait_terminal(
        await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1))
    assert final["status"] == "confirmed"

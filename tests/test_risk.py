"""Pre-trade risk controls: a trading state that halts and resumes, and limits per order."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from conftest import all_in, run_until

from engine.testing import EngineHarness, ManualClock

MARKET = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1}
LIMIT = {"orderType": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1,
         "limitPrice": 151}


async def call(engine: EngineHarness, method: str, path: str, body: Any = None,
               key: str | None = None) -> tuple[int, Any]:
    assert engine.http is not None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with engine.http.request(method, path, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_halted_trading_refuses_orders_and_holds_triggers_until_it_resumes(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()  # 1 SOL nets about 149.92 USDC: the limit waits
    limit_id = await order_engine.submit(**LIMIT)
    assert (await call(order_engine, "PUT", "/api/risk", {"state": "halted"}))[0] == 200
    status, body = await call(order_engine, "POST", "/api/orders/execute", MARKET)
    assert (status, body["error"]["code"]) == (503, "TRADING_HALTED")
    order_engine.world.move_price("met-sol-usdc", 1.02)  # the limit's price is met...
    for _ in range(50):  # let the watcher look at the new price
        await asyncio.sleep(0)
    assert (await order_engine.order(limit_id))["status"] == "waiting"  # ...but it is held
    assert (await call(order_engine, "GET", "/api/risk"))[1]["state"] == "halted"
    assert (await call(order_engine, "PUT", "/api/risk", {"state": "active"}))[0] == 200
    final = await order_engine.wait_terminal(limit_id)
    assert final["status"] == "confirmed"  # fired on the next look after trading resumed
    assert (await call(order_engine, "POST", "/api/orders/execute", MARKET))[0] == 201


async def test_the_trading_state_survives_a_restart(order_engine: EngineHarness) -> None:
    await call(order_engine, "PUT", "/api/risk", {"state": "halted"})
    await order_engine.restart()
    assert (await call(order_engine, "GET", "/api/risk"))[1]["state"] == "halted"
    assert order_engine.http is not None
    async with order_engine.http.get("/metrics") as resp:
        assert "engine_trading_halted 1.0" in await resp.text()


async def test_only_an_admin_key_may_halt_trading(order_engine: EngineHarness) -> None:
    trader = await order_engine.create_key("bot", "trade")
    admin = await order_engine.create_key("ops", "admin")
    assert (await call(order_engine, "PUT", "/api/risk", {"state": "halted"}, trader))[0] == 403
    assert (await call(order_engine, "GET", "/api/risk", None, trader))[0] == 200
    assert (await call(order_engine, "PUT", "/api/risk", {"state": "halted"}, admin))[0] == 200
    for state in ("paused", {}, [], None, 1):
        status, body = await call(order_engine, "PUT", "/api/risk", {"state": state}, admin)
        assert (status, body["error"]["code"]) == (422, "INVALID_STATE"), state


async def test_an_order_worth_more_than_the_limit_is_refused(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", max_order_usd=1_000.0) as engine:
        ok = {**MARKET, "amount": 6}  # about $900 of SOL
        assert (await call(engine, "POST", "/api/orders/execute", ok))[0] == 201
        too_much = {**MARKET, "amount": 7}  # about $1,050
        status, body = await call(engine, "POST", "/api/orders/execute", too_much)
        assert (status, body["error"]["code"]) == (422, "NOTIONAL_TOO_LARGE")
        bonk = {"orderType": "market", "tokenIn": "BONK", "tokenOut": "SOL",
                "amount": 10_000_000_000}  # priced through its SOL pool: far over $1,000
        status, body = await call(engine, "POST", "/api/orders/execute", bonk)
        assert (status, body["error"]["code"]) == (422, "NOTIONAL_TOO_LARGE")
        assert "is worth $" in body["error"]["message"]  # priced, not "cannot be priced"
        # A thousandth of a BONK pays nothing in any pool: it is priced at a larger amount.
        some_bonk = {**bonk, "amount": 1_000_000}  # about $20
        assert (await call(engine, "POST", "/api/orders/execute", some_bonk))[0] == 201
        usdc = {"orderType": "market", "tokenIn": "USDC", "tokenOut": "SOL", "amount": 999}
        assert (await call(engine, "POST", "/api/orders/execute", usdc))[0] == 201


async def test_open_orders_are_capped(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", max_open_orders=2, latency_scale=1.0,
                                   clock=ManualClock(), workers=1) as engine:
        ids = [await engine.submit(**MARKET) for _ in range(2)]
        status, body = await call(engine, "POST", "/api/orders/execute", MARKET)
        assert (status, body["error"]["code"]) == (429, "TOO_MANY_OPEN_ORDERS")
        await run_until(engine, all_in(engine, ids, {"confirmed", "failed"}))
        assert (await call(engine, "POST", "/api/orders/execute", MARKET))[0] == 201

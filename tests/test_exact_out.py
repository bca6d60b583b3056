"""Exact-out orders: `amount` is what the trader receives; slippage bounds what it may cost."""

from __future__ import annotations

from decimal import Decimal

from engine.domain.tokens import lookup
from engine.testing import EngineHarness


def mint(symbol: str) -> str:
    token = lookup(symbol)
    assert token is not None
    return token.mint


def balance(engine: EngineHarness, symbol: str) -> int:
    return engine.world.chain.wallet.balances.get(mint(symbol), 0)


def lamports(engine: EngineHarness) -> int:
    return balance(engine, "SOL")


async def test_an_exact_out_market_order_receives_exactly_the_amount_and_spends_within_bounds(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    usdc, sol = balance(order_engine, "USDC"), lamports(order_engine)
    order_id = await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount="150",
                                         swapMode="ExactOut", slippage=0.01)
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed", final
    assert final["amountOut"] == "150"
    assert balance(order_engine, "USDC") == usdc + 150_000_000  # to the atom
    events = await order_engine.history(order_id)
    routed = next(e for e in events if e["status"] == "routing")
    assert routed["route"]["swapMode"] == "ExactOut"
    spent = Decimal(final["amountIn"])
    bound = Decimal(routed["maxAmountIn"])
    assert spent <= bound <= Decimal(routed["expectedIn"]) * Decimal("1.01") + Decimal("1e-9")
    assert sol - lamports(order_engine) == int(spent * 10**9) + final["networkFeeLamports"] + (
        final["ataRentLamports"])
    assert events[0]["swapMode"] == "ExactOut" and events[0]["amount"] == "150"


async def test_an_exact_out_of_one_atom_is_bought_for_the_atom_it_rounds_up_to(
        order_engine: EngineHarness) -> None:
    # A lamport is worth 0.15 of a USDC atom: its input rounds up to one atom, which is
    # rounding, not a price impact that would refuse it as too large for the liquidity.
    final = await order_engine.wait_terminal(await order_engine.submit(
        tokenIn="USDC", tokenOut="SOL", amount="0.000000001", swapMode="ExactOut"))
    assert final["status"] == "confirmed", final
    assert final["amountOut"] == "0.000000001"


async def test_an_exact_out_quote_answers_in_the_aggregator_shape_with_the_most_in(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    assert order_engine.http is not None
    async with order_engine.http.get("/api/quotes", params={
            "inputMint": "SOL", "outputMint": "USDC", "amount": "150000000",
            "swapMode": "ExactOut", "slippageBps": "100"}) as resp:
        quote = await resp.json()
    assert resp.status == 200 and quote["swapMode"] == "ExactOut"
    assert quote["outAmount"] == "150000000"
    cheapest = min(int(q["inAmount"]) for q in quote["alternatives"])
    assert int(quote["inAmount"]) == cheapest
    assert int(quote["otherAmountThreshold"]) == -(-cheapest * 10_100 // 10_000)


async def test_an_exact_out_that_would_cost_more_than_its_bound_fails_and_buys_nothing(
        order_engine: EngineHarness) -> None:
    order_engine.world.faults.force_slippage()
    usdc = balance(order_engine, "USDC")
    final = await order_engine.wait_terminal(await order_engine.submit(
        tokenIn="SOL", tokenOut="USDC", amount=150, swapMode="ExactOut"))
    assert final["status"] == "failed" and final["error"]["code"] == "SLIPPAGE_EXCEEDED"
    assert balance(order_engine, "USDC") == usdc


async def test_an_exact_out_limit_waits_for_its_price_then_buys_exactly_the_amount(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()  # 150 USDC cost about 1.0025 SOL: about 149.6 per SOL
    usdc = balance(order_engine, "USDC")
    order_id = await order_engine.submit(orderType="limit", tokenIn="SOL", tokenOut="USDC",
                                         amount=150, swapMode="ExactOut", limitPrice="155",
                                         slippage=0.02)
    await order_engine.wait_for_status(order_id, "waiting")
    for pool in ("met-sol-usdc", "ray-sol-usdc"):
        order_engine.world.move_price(pool, 1.05)  # SOL dearer: 150 USDC for less SOL
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"
    assert Decimal(final["executedPrice"]) >= Decimal("155") * Decimal("0.98")
    assert balance(order_engine, "USDC") == usdc + 150_000_000


async def test_an_exact_out_stop_sells_when_the_price_falls(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    order_id = await order_engine.submit(orderType="stop", tokenIn="SOL", tokenOut="USDC",
                                         amount=150, swapMode="ExactOut", triggerPrice="145")
    await order_engine.wait_for_status(order_id, "waiting")
    for pool in ("met-sol-usdc", "ray-sol-usdc"):
        order_engine.world.move_price(pool, 0.95)
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed" and final["amountOut"] == "150"


async def test_bad_exact_out_requests_are_refused_with_the_field_named(
        order_engine: EngineHarness) -> None:
    base = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 150}
    cases = [
        ({**base, "swapMode": "exactOut"}, 422, "INVALID_SWAP_MODE", "swapMode"),
        ({**base, "swapMode": 1}, 422, "INVALID_SWAP_MODE", "swapMode"),
        ({**base, "swapMode": "ExactOut", "amount": "150.0000001"}, 422, "INVALID_AMOUNT",
         "amount"),  # USDC, the output, has 6 decimals
        ({**base, "orderType": "sniper", "swapMode": "ExactOut"}, 422, "UNKNOWN_FIELD",
         "swapMode"),
        ({**base, "tokenIn": "BONK", "swapMode": "ExactOut"}, 422, "NO_ROUTE", "tokenOut"),
    ]
    for body, status, code, field in cases:
        got, answer = await order_engine.post_order(body)
        assert (got, answer["error"]["code"]) == (status, code), (body, answer)
        assert answer["error"].get("field") == field, answer


async def test_an_exact_out_quote_with_a_bad_mode_is_a_400(order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    async with order_engine.http.get("/api/quotes", params={
            "inputMint": "SOL", "outputMint": "USDC", "amount": "1", "swapMode": "Both"}) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["field"] == "swapMode"

"""Bad input gets a structured 4xx, and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest

from engine.testing import EngineHarness

GOOD = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "slippage": 0.01}


def body(**changes: Any) -> dict[str, Any]:
    out = {**GOOD, **changes}
    return {k: v for k, v in out.items() if v is not ...}


CASES = [
    ("not json", b"{orderType:", 400, "INVALID_JSON", None),
    ("truncated", b'{"orderType": "market", "tok', 400, "INVALID_JSON", None),
    ("invalid utf-8", b'{"tokenIn": "\xff\xfe"}', 400, "INVALID_JSON", None),
    ("deep nesting", b"[" * 5000 + b"]" * 5000, 400, "INVALID_JSON", None),
    ("array body", [GOOD], 400, "INVALID_BODY", None),
    ("empty object", {}, 422, "MISSING_FIELD", "orderType"),
    ("missing amount", body(amount=...), 422, "MISSING_FIELD", "amount"),
    ("missing tokenOut", body(tokenOut=...), 422, "MISSING_FIELD", "tokenOut"),
    ("unknown field", body(price=3), 422, "UNKNOWN_FIELD", "price"),
    ("unknown order type", body(orderType="iceberg"), 422, "UNKNOWN_ORDER_TYPE", "orderType"),
    ("order type not a string", body(orderType=1), 422, "UNKNOWN_ORDER_TYPE", "orderType"),
    ("limit without its price", body(orderType="limit"), 422, "MISSING_FIELD", "limitPrice"),
    ("limit price zero", body(orderType="limit", limitPrice=0), 422, "INVALID_PRICE",
     "limitPrice"),
    ("limit with a sniper field", body(orderType="limit", limitPrice=150, maxPrice=1), 422,
     "UNKNOWN_FIELD", "maxPrice"),
    ("market with a limit field", body(limitPrice=150), 422, "UNKNOWN_FIELD", "limitPrice"),
    ("both expiries", body(orderType="limit", limitPrice=150, ttlSeconds=60,
                           expiresAt="2099-01-01T00:00:00Z"), 422, "INVALID_EXPIRY", "ttlSeconds"),
    ("expiry in the past", body(orderType="limit", limitPrice=150,
                                expiresAt="2001-01-01T00:00:00Z"), 422, "INVALID_EXPIRY",
     "expiresAt"),
    ("expiry without a zone", body(orderType="limit", limitPrice=150,
                                   expiresAt="2099-01-01T00:00:00"), 422, "INVALID_EXPIRY",
     "expiresAt"),
    ("ttl too long", body(orderType="limit", limitPrice=150, ttlSeconds=10**9), 422,
     "INVALID_EXPIRY", "ttlSeconds"),
    ("sniper mint not base58", body(orderType="sniper", tokenOut="0OIl-not-a-mint"), 422,
     "INVALID_MINT", "tokenOut"),
    ("sniper mint too short", body(orderType="sniper", tokenOut="abc"), 422,
     "INVALID_MINT", "tokenOut"),
    ("unknown token for a limit", body(orderType="limit", limitPrice=1,
                                       tokenOut="7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU"),
     422, "UNKNOWN_TOKEN", "tokenOut"),
    ("unknown token", body(tokenIn="DOGE"), 422, "UNKNOWN_TOKEN", "tokenIn"),
    ("token not a string", body(tokenOut=["USDC"]), 422, "INVALID_TYPE", "tokenOut"),
    ("same token", body(tokenOut="SOL"), 422, "SAME_TOKEN", "tokenOut"),
    ("same token by mint", body(tokenOut="So11111111111111111111111111111111111111112"),
     422, "SAME_TOKEN", "tokenOut"),
    ("zero amount", body(amount=0), 422, "INVALID_AMOUNT", "amount"),
    ("negative amount", body(amount=-1), 422, "INVALID_AMOUNT", "amount"),
    ("absurd amount", body(amount=1e15), 422, "INVALID_AMOUNT", "amount"),
    ("huge integer", b'{"orderType":"market","tokenIn":"SOL","tokenOut":"USDC","amount":'
     + b"9" * 400 + b"}", 400, "INVALID_JSON", None),
    ("amount as bool", body(amount=True), 422, "INVALID_TYPE", "amount"),
    ("amount as text", body(amount="lots"), 422, "INVALID_NUMBER", "amount"),
    ("amount NaN text", body(amount="NaN"), 422, "INVALID_NUMBER", "amount"),
    ("amount Infinity", b'{"orderType":"market","tokenIn":"SOL","tokenOut":"USDC",'
     b'"amount":Infinity}', 400, "INVALID_JSON", None),
    ("too precise", body(tokenIn="USDC", tokenOut="SOL", amount=0.0000001), 422,
     "INVALID_AMOUNT", "amount"),
    ("zero slippage", body(slippage=0), 422, "INVALID_SLIPPAGE", "slippage"),
    ("slippage over half", body(slippage=0.51), 422, "INVALID_SLIPPAGE", "slippage"),
    ("slippage in percent", body(slippage=5), 422, "INVALID_SLIPPAGE", "slippage"),
    ("slippage null text", body(slippage="x"), 422, "INVALID_NUMBER", "slippage"),
]


@pytest.mark.parametrize("payload,status,code,field", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
async def test_bad_order_is_refused_with_a_structured_error_and_nothing_stored(
        order_engine: EngineHarness, payload: Any, status: int, code: str,
        field: str | None) -> None:
    got_status, got = await order_engine.post_order(payload)
    assert (got_status, got["error"]["code"]) == (status, code)
    assert got["error"]["message"]
    assert got["error"].get("field") == field
    assert order_engine.http is not None
    async with order_engine.http.get("/api/orders") as resp:
        assert (await resp.json())["orders"] == []


@pytest.mark.parametrize(("change", "message"), [
    ({"limitPrice": 150}, "unknown field 'limitPrice' for a market order (limit, twap and "
                          "stop_limit orders take it)"),
    ({"ttlSeconds": 60}, "unknown field 'ttlSeconds' for a market order (every order type but "
                         "market takes it)"),
    ({"price": 150}, "unknown field 'price' for a market order"),
])
async def test_a_field_of_another_order_type_says_which_types_take_it(
        order_engine: EngineHarness, change: dict[str, Any], message: str) -> None:
    status, refused = await order_engine.post_order(body(**change))
    assert status == 422 and refused["error"]["message"] == message


async def test_oversized_body_is_413(order_engine: EngineHarness) -> None:
    status, got = await order_engine.post_order(b'{"pad": "' + b"x" * 100_000 + b'"}')
    assert status == 413 and got["error"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_amount_may_be_a_decimal_string_and_symbols_or_mints_work(
        order_engine: EngineHarness) -> None:
    status, got = await order_engine.post_order(body(
        tokenIn="EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", tokenOut="sol", amount="12.5",
        slippage=...))
    assert status == 201
    record = await order_engine.order(got["orderId"])
    assert (record["tokenIn"], record["tokenOut"], record["amount"], record["slippage"]) == (
        "USDC", "SOL", "12.5", "0.01")


@pytest.mark.parametrize("query,code", [
    ("status=done", "INVALID_STATUS"), ("limit=0", "INVALID_LIMIT"),
    ("limit=abc", "INVALID_LIMIT"), ("cursor=bogus!", "INVALID_CURSOR")])
async def test_bad_list_query_is_400(order_engine: EngineHarness, query: str, code: str) -> None:
    assert order_engine.http is not None
    async with order_engine.http.get(f"/api/orders?{query}") as resp:
        assert resp.status == 400
        assert (await resp.json())["error"]["code"] == code


async def test_unknown_route_and_wrong_method_are_json_errors(order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    async with order_engine.http.get("/nope") as resp:
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "NOT_FOUND"
    async with order_engine.http.put("/api/orders/execute") as resp:
        assert resp.status == 405 and (await resp.json())["error"]["code"] == "METHOD_NOT_ALLOWED"
    async with order_engine.http.get("/api/orders/execute") as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "UPGRADE_REQUIRED"


async def test_a_key_given_twice_is_refused_not_read_as_the_last(order_engine: EngineHarness) -> None:
    body = b'{"orderType":"market","tokenIn":"SOL","tokenOut":"USDC","amount":0.01,"amount":5000}'
    status, payload = await order_engine.post_order(body)
    assert (status, payload["error"]["code"]) == (400, "INVALID_JSON")


@pytest.mark.parametrize("field,value,code", [
    ("amount", "١٢", "INVALID_NUMBER"), ("amount", "１２", "INVALID_NUMBER"),
    ("amount", "1_000", "INVALID_NUMBER"), ("amount", "1e-1000000", "INVALID_NUMBER"),
    ("tokenIn", "ſol", "UNKNOWN_TOKEN"), ("slippage", "٠.٠١", "INVALID_NUMBER")])
async def test_only_ascii_numbers_and_symbols_are_read(order_engine: EngineHarness, field: str,
                                                      value: str, code: str) -> None:
    body = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, field: value}
    status, payload = await order_engine.post_order(body)
    assert (status, payload["error"]["code"], payload["error"]["field"]) == (422, code, field)


@pytest.mark.parametrize("body", [
    {"orderType": "sniper", "tokenOut": "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU",
     "maxPrice": "1e-1000000"},
    {"orderType": "sniper", "tokenOut": "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU",
     "maxPrice": "1e-20"},
    {"orderType": "limit", "tokenOut": "USDC", "limitPrice": "1e20"}])
async def test_a_price_outside_the_documented_range_is_422_at_submission(
        order_engine: EngineHarness, body: dict[str, str]) -> None:
    status, payload = await order_engine.post_order({"tokenIn": "SOL", "amount": 1, **body})
    assert status == 422 and payload["error"]["code"] in ("INVALID_PRICE", "INVALID_NUMBER")


@pytest.mark.parametrize("path", [
    "/api/orders?limit=²", "/api/quotes?inputMint=SOL&outputMint=USDC&amount=²",
    "/api/quotes?inputMint=SOL&outputMint=USDC&amount=1000&slippageBps=¹",
    "/api/orders/stream?after=²", "/api/orders?limit=1_0", "/api/orders?limit=%EF%BC%91"])
async def test_unicode_digits_in_a_query_are_a_400(order_engine: EngineHarness, path: str) -> None:
    assert order_engine.http is not None
    async with order_engine.http.get(path) as resp:
        assert resp.status == 400, path
        assert (await resp.json())["error"]["code"].startswith("INVALID_")

"""Attacks a web page could make through the trader's browser, each refused over real HTTP/WS."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from engine.testing import EngineHarness

ORDER = b'{"orderType":"market","tokenIn":"SOL","tokenOut":"USDC","amount":0.01}'
EVIL = "https://evil.example"


async def orders_stored(engine: EngineHarness) -> int:
    assert engine.http is not None
    async with engine.http.get("/api/orders") as resp:
        return len((await resp.json())["orders"])


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
async def test_a_cross_origin_simple_request_places_nothing(
        order_engine: EngineHarness, content_type: str) -> None:
    assert order_engine.http is not None
    headers = {"Origin": EVIL, "Content-Type": content_type}
    async with order_engine.http.post("/api/orders/execute", data=ORDER, headers=headers) as resp:
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "FORBIDDEN_ORIGIN"
    assert await orders_stored(order_engine) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
async def test_a_body_that_is_not_json_is_refused_with_415(order_engine: EngineHarness,
                                                           content_type: str) -> None:
    assert order_engine.http is not None
    async with order_engine.http.post("/api/orders/execute", data=ORDER,
                                      headers={"Content-Type": content_type}) as resp:
        assert resp.status == 415
        assert (await resp.json())["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert await orders_stored(order_engine) == 0


@pytest.mark.parametrize("origin", [EVIL, "null"])
@pytest.mark.parametrize("path", ["/api/orders/execute", "/api/orders/stream"])
async def test_a_websocket_from_a_foreign_origin_is_refused_before_the_upgrade(
        order_engine: EngineHarness, origin: str, path: str) -> None:
    assert order_engine.http is not None
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await order_engine.http.ws_connect(path, headers={"Origin": origin})
    assert refused.value.status == 403
    assert await orders_stored(order_engine) == 0


async def test_a_rebound_host_name_is_refused(order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    async with order_engine.http.post("/api/orders/execute", data=ORDER, headers={
            "Host": "rebind.attacker.example", "Content-Type": "application/json"}) as resp:
        assert resp.status == 403
        assert (await resp.json())["error"]["code"] == "FORBIDDEN_HOST"
    async with order_engine.http.get("/api/wallet", headers={"Host": "rebind.attacker.example"}) \
            as resp:
        assert resp.status == 403
    assert await orders_stored(order_engine) == 0


async def test_the_engines_own_origin_may_submit(order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    own = order_engine.url
    async with order_engine.http.post("/api/orders/execute", data=ORDER, headers={
            "Origin": own, "Content-Type": "application/json"}) as resp:
        assert resp.status == 201
        assert "Access-Control-Allow-Origin" not in resp.headers


async def test_a_listed_cors_origin_gets_a_preflight_and_cors_answers(tmp_path: Path) -> None:
    app = "https://app.example"
    async with EngineHarness.start(tmp_path / "e.db", cors_origins=(app,)) as engine:
        assert engine.http is not None
        async with engine.http.options("/api/orders/execute", headers={
                "Origin": app, "Access-Control-Request-Method": "POST"}) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == app
            assert "Content-Type" in resp.headers["Access-Control-Allow-Headers"]
        async with engine.http.post("/api/orders/execute", data=ORDER, headers={
                "Origin": app, "Content-Type": "application/json"}) as resp:
            assert resp.status == 201 and resp.headers["Access-Control-Allow-Origin"] == app
        async with engine.http.options("/api/orders/execute", headers={"Origin": EVIL}) as resp:
            assert resp.status == 403


async def test_the_dashboard_cannot_be_framed_and_runs_no_inline_script(
        order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    for path in ("/", "/static/dashboard.js"):
        async with order_engine.http.get(path) as resp:
            policy = resp.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy
            assert "unsafe-inline" not in policy
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["Referrer-Policy"] == "no-referrer"


async def test_every_refusal_says_nosniff_and_sends_no_referrer(
        order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    await order_engine.create_key("bot", "read")
    refusals = [("GET", "/api/orders", {}, 401),  # a key exists now: none sent
                ("GET", "/api/orders", {"Host": "evil.example"}, 403),
                ("POST", "/api/orders/execute", {"Content-Type": "text/plain"}, 415)]
    for method, path, headers, status in refusals:
        async with order_engine.http.request(method, path, headers=headers, data=b"x") as resp:
            assert resp.status == status
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["Referrer-Policy"] == "no-referrer"

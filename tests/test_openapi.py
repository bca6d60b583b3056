"""The OpenAPI document describes every route, and its examples are accepted as documented."""

from __future__ import annotations

from engine.api.openapi import SPEC
from engine.testing import EngineHarness


async def test_every_route_is_described(order_engine: EngineHarness) -> None:
    app = order_engine.engine_app
    routes = {(r.method.lower(), r.resource.canonical) for r in app.router.routes()
              if r.method != "HEAD" and r.resource is not None}
    described = {(method, path) for path, ops in SPEC["paths"].items() for method in ops}
    assert routes == described


async def test_the_served_document_is_the_spec(order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    async with order_engine.http.get("/api/openapi.json") as resp:
        assert resp.status == 200 and await resp.json() == SPEC


async def test_request_examples_get_a_documented_success(order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    for path, ops in SPEC["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            for name, example in content.get("examples", {}).items():
                async with order_engine.http.request(method, path, json=example["value"]) as r:
                    success = [c for c in op["responses"] if c.startswith("2")]
                    assert str(r.status) in success, (path, name, r.status, await r.text())

"""The API's routes: each path and method, and the handler that serves it."""

from __future__ import annotations

from aiohttp import web

from engine.api import dashboard, health, market, openapi, orders, risk_routes, streams, upgrade


def add_routes(router: web.UrlDispatcher) -> None:
    """Every route the API serves, but the simulated market's controls."""
    router.add_get("/", dashboard.index, allow_head=False)
    router.add_get("/static/{name}", dashboard.asset, allow_head=False)
    router.add_get("/healthz", health.healthz, allow_head=False)
    router.add_get("/metrics", health.metrics, allow_head=False)
    router.add_get("/api/openapi.json", openapi.openapi, allow_head=False)
    router.add_post("/api/orders/execute", orders.execute)
    router.add_get("/api/orders/execute", upgrade.execute, allow_head=False)
    router.add_get("/api/orders/status/{order_id}", streams.status, allow_head=False)
    router.add_get("/api/orders/stream", streams.firehose, allow_head=False)
    # An order id is anything but the fixed names beside it, so that DELETE on the submission
    # URL is a 405 with its own Allow header, not "no order 'execute'".
    order = "/api/orders/{order_id:(?!(?:execute|stream)$)[^{}/]+}"
    router.add_get(order, orders.get_order, allow_head=False)
    router.add_get("/api/orders", orders.list_orders, allow_head=False)
    router.add_get("/api/quotes", market.quotes, allow_head=False)
    router.add_get("/api/wallet", market.wallet, allow_head=False)
    router.add_get("/api/tokens", market.tokens, allow_head=False)
    router.add_get("/api/tokens/{mint}", market.token, allow_head=False)
    router.add_get("/api/risk", risk_routes.get_risk, allow_head=False)
    router.add_put("/api/risk", risk_routes.put_risk)
    router.add_delete(order, orders.cancel)
    router.add_delete("/api/orders", orders.cancel_waiting)
    router.add_get("/api/sim", market.sim_status, allow_head=False)  # says if the controls are on


def add_sim_routes(router: web.UrlDispatcher) -> None:
    """The simulated market's controls (`--sim-api`)."""
    router.add_post("/api/sim/launch", market.launch)

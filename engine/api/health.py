"""Liveness and readiness."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from engine.api.app_keys import ENGINE, EXECUTION, MARKET
from engine.api.auth import ADMITTED
from engine.api.errors import json_response


async def healthz(request: web.Request) -> web.Response:
    operations = request.app[ENGINE].operations
    health = operations.health()
    outside = await operations.outside_problems() if health.accepting else []
    problems = [*outside, *health.problems,
                *request.app[MARKET].problems()]
    status = ("degraded" if problems else "ok") if health.accepting else "starting"
    if not request.get(ADMITTED, False):  # keys are required and none came: say no more
        return json_response({"status": status}, status=200 if health.accepting else 503)
    body = {"status": status, **({"reasons": problems} if problems else {}),
            "keys": request.app[ENGINE].access.key_mode.value,
            "cluster": {"execution": request.app.get(EXECUTION, "unknown")},
            "workers": health.workers, "queued": health.queued, "inFlight": health.in_flight,
            "waiting": health.waiting, "subscribers": health.subscribers}
    return json_response(body, status=200 if health.accepting else 503)


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics in the Prometheus text format."""
    return web.Response(body=request.app[ENGINE].operations.metrics_text(),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})

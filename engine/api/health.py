"""Liveness and readiness."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from engine.api.errors import json_response
from engine.api.keys import ENGINE


async def healthz(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    body = {"status": "ok" if engine.accepting else "starting",
            "workers": engine.workers, "queued": engine.pool.queue.qsize(),
            "inFlight": engine.pool.in_flight, "waiting": engine.watcher.waiting,
            "subscribers": engine.hub.subscriber_count}
    return json_response(body, status=200 if engine.accepting else 503)


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics in the Prometheus text format."""
    return web.Response(body=request.app[ENGINE].metrics.render(),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})

"""Composition root: the only module that knows every adapter."""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from engine.api import dashboard, health, market, openapi, orders, streams
from engine.api.errors import error_middleware
from engine.api.keys import ENGINE, SOCKETS
from engine.clock import SystemClock
from engine.config import Settings
from engine.ports import Clock
from engine.runtime import Engine
from engine.store.sqlite import SqliteStore
from engine.venues.world import SimWorld


def build_app(settings: Settings, *, clock: Clock | None = None, world: SimWorld | None = None,
              store_fault: Callable[[str], None] | None = None) -> web.Application:
    """An aiohttp app whose start-up opens the store, resumes orders and starts the workers."""
    clock = clock or SystemClock()
    owns_world = world is None  # a harness's world outlives the engines it restarts
    world = world or SimWorld.build(clock, seed=settings.seed, latency_scale=settings.latency_scale,
                                    failure_rate=settings.failure_rate,
                                    chain_db=settings.chain_db or None)
    app = web.Application(middlewares=[error_middleware], client_max_size=settings.max_body_bytes)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        store = await SqliteStore.open(settings.db, fault=store_fault)
        engine = Engine(store, world, clock, settings.workers, settings.max_attempts,
                        settings.latency_scale, settings.max_pending, settings.shutdown_grace,
                        settings.stream_buffer, settings.send_timeout, settings.launch_rate)
        app[ENGINE] = engine
        await engine.start()
        yield
        await engine.stop()
        await store.close()
        if owns_world:
            await world.chain.close()

    app[SOCKETS] = weakref.WeakSet()
    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(streams.close_all)
    app.router.add_get("/", dashboard.index)
    app.router.add_get("/static/{name}", dashboard.asset)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_get("/metrics", health.metrics)
    app.router.add_get("/api/openapi.json", openapi.openapi)
    app.router.add_post("/api/orders/execute", orders.execute)
    app.router.add_get("/api/orders/execute", streams.execute)
    app.router.add_get("/api/orders/status/{order_id}", streams.status)
    app.router.add_get("/api/orders/stream", streams.firehose)
    app.router.add_get("/api/orders/{order_id}", orders.get_order)
    app.router.add_get("/api/orders", orders.list_orders)
    app.router.add_get("/api/quotes", market.quotes)
    app.router.add_get("/api/wallet", market.wallet)
    app.router.add_delete("/api/orders/{order_id}", orders.cancel)
    app.router.add_post("/api/sim/launch", market.launch)
    return app

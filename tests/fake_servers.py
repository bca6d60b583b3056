"""Servers a test stands up in place of the engine or a node: any aiohttp app on a free
loopback port, and an engine of one order whose status stream a test scripts."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@contextlib.asynccontextmanager
async def serving(app: web.Application,
                  tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """`app` on a free loopback port for the block (over TLS with `tls`); its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def one_order_engine(status_stream: Handler) -> web.Application:
    """An engine that knows any order id it is asked about, and whose status stream is
    `status_stream`: enough for a client's lookup, then its stream."""
    async def order(request: web.Request) -> web.Response:
        return web.json_response({"orderId": request.match_info["id"], "status": "pending"})

    app = web.Application()
    app.router.add_get("/api/orders/{id}", order)
    app.router.add_get("/api/orders/status/{id}", status_stream)
    return app

"""The live dashboard at GET /: one page and its scripts and style, served from the package."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from engine.api.errors import ApiError

FILES = {"dashboard.js": "text/javascript", "charts.js": "text/javascript",
         "panels.js": "text/javascript", "venues.js": "text/javascript",
         "dashboard.css": "text/css"}
# Only our own files run; no inline script or style, no framing by another site, no forms
# posted elsewhere; WebSockets and fetches to this engine only.
POLICY = {"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
          "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
          "frame-ancestors 'none'", "X-Frame-Options": "DENY"}


def _read(name: str) -> bytes:
    return resources.files("engine.api").joinpath("static", name).read_bytes()


async def index(request: web.Request) -> web.Response:
    return web.Response(body=_read("index.html"), content_type="text/html", charset="utf-8",
                        headers=POLICY)


async def asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in FILES:
        raise ApiError(404, "NOT_FOUND", f"no file {name[:64]!r}")
    return web.Response(body=_read(name), content_type=FILES[name], charset="utf-8",
                        headers=POLICY)

"""Browser defences, always on: a web page open in the trader's browser must not be able to trade
through an engine it can reach (on localhost, or by DNS rebinding).

- the `Host` must be a loopback name, the bound address or an `--allowed-host` (DNS rebinding);
- an `Origin`, when a browser sends one, must be the engine's own or a `--cors-origin`, for plain
  requests and WebSocket handshakes alike (cross-site requests and sockets; `Origin: null` too);
- a body sent with POST, PUT, PATCH or DELETE must be `application/json`, which a cross-origin
  "simple request" (form, text/plain, multipart) cannot send without a preflight;
- CORS answers (and preflights) only for `--cors-origin`; every answer says `nosniff` and sends no
  referrer, and the dashboard forbids framing and inline script.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from engine.api.errors import ALWAYS, ApiError
from engine.config import Settings
from engine.domain.hosts import LOOPBACK_NAMES, host_name, is_loopback

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CORS_METHODS = "GET, POST, PUT, DELETE"
CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key"


def trusted_hosts(settings: Settings) -> frozenset[str]:
    bound = host_name(settings.host)
    wildcard = bound in ("0.0.0.0", "::", "")
    return frozenset({*LOOPBACK_NAMES, *(() if wildcard else (bound,)),
                      *(host_name(h) for h in settings.allowed_hosts)})


def door(settings: Settings) -> Middleware:
    hosts, origins = trusted_hosts(settings), frozenset(settings.cors_origins)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = host_name(request.host)
        if name not in hosts and not is_loopback(name):
            raise ApiError(403, "FORBIDDEN_HOST", "this engine does not answer to that Host; "
                           "start it with --allowed-host to add one", "Host")
        origin = request.headers.get(hdrs.ORIGIN)
        # Our own pages' origin names this Host (its scheme may differ behind a TLS proxy).
        cross = origin is not None and origin.partition("://")[2] != request.host
        if cross and origin not in origins:
            raise ApiError(403, "FORBIDDEN_ORIGIN", "requests from this web origin are refused; "
                           "start the engine with --cors-origin to allow one", "Origin")
        if request.method == "OPTIONS" and cross:
            return _preflight(origin or "")
        routed = request.match_info.http_exception is None  # a 404 or 405 says so first
        if routed and request.method in WITH_BODY and (
                request.body_exists or request.method != "DELETE") \
                and request.content_type != "application/json":
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json",
                           "Content-Type")
        response = await handler(request)
        if not response.prepared:
            response.headers.update(ALWAYS)
            if cross:
                response.headers["Access-Control-Allow-Origin"] = origin or ""
                response.headers["Vary"] = "Origin"
        return response

    return guard


def _preflight(origin: str) -> web.Response:
    return web.Response(status=204, headers={
        "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": CORS_METHODS,
        "Access-Control-Allow-Headers": CORS_HEADERS, "Access-Control-Max-Age": "600",
        "Vary": "Origin", **ALWAYS})

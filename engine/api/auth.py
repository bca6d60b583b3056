"""Who may do what: API keys and scopes, request rates and connection caps, the access log.

Like Redis's protected mode: while no key exists, local clients (loopback) need none, so the
two-command start keeps working; once one key exists, every request needs one. A browser cannot
set headers on a WebSocket, so a key may also come as the subprotocol `bearer.<key>`, offered
beside `order-engine.v1` (the one the server selects); never in a URL, which ends up in logs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware
from loguru import logger

from engine.access.limits import Buckets, address_holder, key_holder
from engine.api.app_keys import ENGINE
from engine.api.errors import STATUS_BY_CODE, ApiError
from engine.api.sockets import SOCKETS
from engine.config import Settings
from engine.domain.access import LOCAL, Caller, Scope
from engine.domain.errors import EngineError
from engine.domain.hosts import host_name, is_loopback
from engine.logs import printable

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Request-scoped: the Caller this request is made as, and whether it showed a valid key (or
# needed none); a public path answered to someone without a key says less.
CALLER = web.RequestKey("caller", Caller)
ADMITTED = web.RequestKey("admitted", bool)
PROTOCOL = "order-engine.v1"
BEARER_PROTOCOL = "bearer."
PUBLIC = ("/healthz", "/api/openapi.json", "/")


def caller_of(request: web.Request) -> Caller:
    caller: Caller = request.get(CALLER, LOCAL)
    return caller


def needed_scope(request: web.Request) -> Scope | None:
    """The scope a request needs; None for what anyone may read (health, the API description,
    the dashboard's own files, which ask for a key themselves)."""
    path = request.path
    if path in PUBLIC or path.startswith("/static/"):
        return None
    if path.startswith("/api/sim/") or (path == "/api/risk" and request.method != "GET"):
        return Scope.ADMIN
    if request.method in ("GET", "HEAD") and path != "/api/orders/execute":
        return Scope.READ
    return Scope.TRADE  # submit (POST, or the same-endpoint WebSocket) and cancel


def presented_key(request: web.Request) -> str | None:
    header = request.headers.get(hdrs.AUTHORIZATION, "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() == "bearer" and secret.strip():
        return secret.strip()
    for offered in request.headers.get(hdrs.SEC_WEBSOCKET_PROTOCOL, "").split(","):
        offered = offered.strip()
        if offered.startswith(BEARER_PROTOCOL) and len(offered) > len(BEARER_PROTOCOL):
            return offered[len(BEARER_PROTOCOL):]
    return None


def guard(settings: Settings, buckets: Buckets, now: Callable[[], float]) -> Middleware:
    """`buckets`: the request rates per key, which a key's TWAP slices draw on too, on the
    engine's clock (`now`, monotonic seconds)."""
    per_holder: Counter[str] = Counter()  # open WebSockets, per key (or address without one)

    @web.middleware
    async def access(request: web.Request, handler: Handler) -> web.StreamResponse:
        caller: Caller | None = None
        status = 500
        try:
            caller = _authenticate(request, settings)
            needed = needed_scope(request)
            holder = _holder(request, caller)
            if needed is not None:
                if caller is None:
                    raise ApiError(401, "UNAUTHENTICATED", "send an API key: Authorization: "
                                   "Bearer <key>", headers={"WWW-Authenticate": "Bearer"})
                if not caller.scope.allows(needed):
                    raise ApiError(403, "FORBIDDEN", f"this key's scope is {caller.scope}; "
                                   f"this needs {needed}")
                if buckets.enabled:
                    buckets.admit(holder, now())
            request[CALLER], request[ADMITTED] = caller or LOCAL, caller is not None
            if request.headers.get(hdrs.UPGRADE, "").lower() != "websocket":
                response = await handler(request)
                status = response.status
                return response
            _admit_socket(request, settings, per_holder[holder], caller)
            per_holder[holder] += 1
            try:
                response = await handler(request)
            finally:
                per_holder[holder] -= 1
                if not per_holder[holder]:
                    del per_holder[holder]
            status = response.status
            return response
        except web.HTTPException as error:
            status = error.status
            raise
        except ApiError as error:
            status = error.status
            raise
        except EngineError as error:  # a use case's refusal: the error middleware answers it
            status = STATUS_BY_CODE.get(error.code, 422)
            raise
        finally:
            if settings.access_log:
                logger.info("{} {} {} key={} client={}", request.method, printable(request.path),
                            status,
                            caller.name if caller and caller.name else "-", request.remote)

    return access


def _authenticate(request: web.Request, settings: Settings) -> Caller | None:
    """The caller, or None when a key is needed and none valid was sent."""
    access = request.app[ENGINE].access
    secret = presented_key(request)
    if secret is not None:
        caller = access.authenticate(secret)
        if caller is None:
            raise ApiError(401, "UNAUTHENTICATED", "this API key is unknown or revoked",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return caller
    local = is_loopback(host_name(request.remote or ""))
    if not access.keys_required and (local or settings.insecure_no_auth):
        return LOCAL
    return None


def _holder(request: web.Request, caller: Caller | None) -> str:
    """Whose limits a request counts against: its key's, or without one its address's."""
    if caller is not None and caller.name is not None:
        return key_holder(caller.name)
    return address_holder(request.remote or "?")


def _admit_socket(request: web.Request, settings: Settings, held: int,
                  caller: Caller | None) -> None:
    if len(request.app[SOCKETS]) >= settings.max_connections:
        raise ApiError(503, "TOO_MANY_CONNECTIONS", "the engine serves as many WebSockets as it "
                       "can; retry shortly", headers={"Retry-After": "5"})
    if held >= settings.max_connections_per_client:
        whose = "API key" if caller is not None and caller.name else "client address"
        raise ApiError(429, "TOO_MANY_CONNECTIONS", f"at most "
                       f"{settings.max_connections_per_client} WebSockets per {whose}",
                       headers={"Retry-After": "5"})

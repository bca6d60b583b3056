"""Every failure becomes a structured JSON error: {"error": {"code", "message", "field"?}}."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from loguru import logger

from engine.api.app_keys import ENGINE
from engine.domain.errors import EngineError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HTTP_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
              413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE", 503: "UNAVAILABLE"}
# The HTTP status of each refusal the engine's use cases raise; any other code is a 422.
STATUS_BY_CODE = {"INVALID_BODY": 400, "INVALID_CURSOR": 400, "ORDER_NOT_FOUND": 404,
                  "ORDER_EXECUTING": 409, "ORDER_FINISHED": 409, "IDEMPOTENCY_KEY_IN_USE": 409,
                  "UNAVAILABLE": 503, "OVERLOADED": 503, "STORAGE_UNAVAILABLE": 503,
                  "TOO_MANY_WAITING": 429, "RATE_LIMITED": 429, "TOO_MANY_OPEN_ORDERS": 429,
                  "TRADING_HALTED": 503, "NODE_UNHEALTHY": 503, "NODE_TIMEOUT": 503}
RETRY_AFTER = {"UNAVAILABLE": "1", "OVERLOADED": "1", "STORAGE_UNAVAILABLE": "5",
               "NODE_UNHEALTHY": "1", "NODE_TIMEOUT": "1",
               "TOO_MANY_WAITING": "60", "RATE_LIMITED": "1", "TOO_MANY_OPEN_ORDERS": "5",
               "TRADING_HALTED": "30"}


# On every answer, refusals included (the door adds them to the rest).
ALWAYS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}

    @classmethod
    def refusal(cls, error: EngineError) -> ApiError:
        """The answer to an error the engine raised: its code, and the status that code has."""
        wait = getattr(error, "retry_after", None)  # a limit that knows when it frees up
        retry = str(max(1, round(wait))) if wait is not None else RETRY_AFTER.get(error.code)
        return cls(STATUS_BY_CODE.get(error.code, 422), error.code, error.message, error.field,
                   headers={"Retry-After": retry} if retry else None)

    def response(self) -> web.Response:
        body: dict[str, str] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return json_response({"error": body}, status=self.status,
                             headers={**ALWAYS, **self.headers})


def json_response(data: object, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, headers=headers,
                        content_type="application/json")


# Where a handler keeps the WebSocket it upgraded the request to: an error after the upgrade
# closes it (an HTTP answer written into the socket would reach the client as a broken frame).
UPGRADED = web.RequestKey("upgraded_socket", web.WebSocketResponse)
TRY_AGAIN_LATER, INTERNAL = 1013, 1011  # RFC 6455 close codes


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return await _refuse(request, error)
    except EngineError as error:
        return await _refuse(request, ApiError.refusal(error))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, "HTTP_ERROR")
        return await _refuse(request, ApiError(exc.status, code, exc.reason,
                                               headers=_allowed(exc)))
    except Exception:
        logger.exception("unhandled error on {} {}", request.method, request.path)
        return await _refuse(request, ApiError(500, "INTERNAL",
                                               "internal error; the order state is unchanged"),
                             counted=False)


async def _refuse(request: web.Request, error: ApiError, *,
                  counted: bool = True) -> web.StreamResponse:
    engine = request.app.get(ENGINE)
    if engine is not None and counted:
        engine.operations.refused(error.code)
    upgraded: web.WebSocketResponse | None = request.get(UPGRADED)
    if upgraded is not None and upgraded.prepared:
        # Already a WebSocket: say it with a close code (1013: try again later), in at most
        # the 123 bytes a close frame's reason may hold.
        reason = error.message.encode()[:120].decode(errors="ignore").encode()
        await upgraded.close(code=TRY_AGAIN_LATER if error.status == 503 else INTERNAL,
                             message=reason)
        return upgraded
    return error.response()


def _allowed(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}

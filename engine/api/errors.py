"""Every failure becomes a structured JSON error: {"error": {"code", "message", "field"?}}."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from loguru import logger

from engine.domain.requests import InvalidOrder

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HTTP_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
              413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE", 503: "UNAVAILABLE"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = headers or {}

    @classmethod
    def from_invalid(cls, error: InvalidOrder) -> ApiError:
        return cls(error.status, error.code, error.message, error.field)

    def response(self) -> web.Response:
        body: dict[str, str] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return json_response({"error": body}, status=self.status, headers=self.headers)


def json_response(data: object, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, headers=headers,
                        content_type="application/json")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as error:
        return error.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, "HTTP_ERROR")
        return ApiError(exc.status, code, exc.reason, headers=_allowed(exc)).response()
    except Exception:
        logger.exception("unhandled error on {} {}", request.method, request.path)
        return ApiError(500, "INTERNAL", "internal error; the order state is unchanged").response()


def _allowed(exc: web.HTTPException) -> dict[str, str]:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else {}

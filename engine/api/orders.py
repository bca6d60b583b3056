"""HTTP routes for orders: submit, read one, list."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from typing import Any

import orjson
from aiohttp import web
from loguru import logger

from engine.api.errors import ApiError, json_response
from engine.api.keys import ENGINE
from engine.domain.order import Order, OrderType
from engine.domain.requests import InvalidOrder, parse_order
from engine.domain.status import OrderStatus
from engine.ports import IdempotencyKey
from engine.runtime import Engine, NotCancellable
from engine.store.sqlite import InvalidCursor
from engine.workers import Overloaded

MAX_PAGE = 200
MAX_KEY_LENGTH = 255


def decode_body(raw: bytes | str) -> Any:
    """Decode JSON without ever raising anything but ApiError (depth, UTF-8, syntax)."""
    try:
        return orjson.loads(raw)
    except (orjson.JSONDecodeError, UnicodeError, RecursionError):
        raise ApiError(400, "INVALID_JSON", "the body is not valid JSON") from None


async def accept(engine: Engine, body: Any, key: IdempotencyKey | None = None) -> Order:
    """Validate and durably store an order; the shared core of HTTP and WebSocket submission."""
    if not engine.accepting:
        raise ApiError(503, "UNAVAILABLE", "the engine is not accepting orders",
                       headers={"Retry-After": "1"})
    try:
        request = parse_order(body, engine.clock.now())
    except InvalidOrder as error:
        raise ApiError.from_invalid(error) from None
    sniping = request.order_type is OrderType.SNIPER
    if not sniping and not engine.router.has_route(request.token_in.mint, request.token_out.mint):
        raise ApiError(422, "NO_ROUTE", f"no venue trades {request.token_in.symbol}/"
                       f"{request.token_out.symbol}", "tokenOut")
    try:
        return await engine.submit(request, key)
    except Overloaded:
        raise ApiError(503, "OVERLOADED", "too many orders waiting; retry shortly",
                       headers={"Retry-After": "1"}) from None
    except (sqlite3.Error, OSError) as error:
        logger.error("order not stored: {!r}", error)
        raise ApiError(503, "STORAGE_UNAVAILABLE", "the order could not be stored; nothing was "
                       "accepted", headers={"Retry-After": "5"}) from None


def ws_url(request: web.Request, order_id: str) -> str:
    scheme = "wss" if request.secure else "ws"
    return f"{scheme}://{request.host}/api/orders/status/{order_id}"


async def execute(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    started = time.perf_counter()
    try:
        return await _execute(request, engine)
    finally:
        engine.metrics.submit_seconds.observe(time.perf_counter() - started)


async def _execute(request: web.Request, engine: Engine) -> web.Response:
    key = _idempotency_key(request)
    raw = await request.read()
    body = decode_body(raw)
    if key is None:
        return _created(request, (await accept(engine, body)).id)
    fingerprint = hashlib.sha256(raw).hexdigest()  # "the same body": byte for byte
    if key in engine.keys_in_progress:
        raise ApiError(409, "IDEMPOTENCY_KEY_IN_USE",
                       "a request with this Idempotency-Key is still being processed")
    engine.keys_in_progress.add(key)
    try:
        known = await engine.store.find_key(key)
        if known is None:
            order = await accept(engine, body, IdempotencyKey(key, fingerprint))
            return _created(request, order.id)
        if known.fingerprint != fingerprint:
            raise ApiError(422, "IDEMPOTENCY_KEY_REUSED",
                           "this Idempotency-Key was used with a different request body")
        return _created(request, known.order_id, replayed=True)
    finally:
        engine.keys_in_progress.discard(key)


def _created(request: web.Request, order_id: str, replayed: bool = False) -> web.Response:
    """The 201 answer; a replay answers exactly what the first request got."""
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return json_response({"orderId": order_id, "status": "pending",
                          "wsUpgrade": ws_url(request, order_id)}, status=201, headers=headers)


def _idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise ApiError(400, "INVALID_IDEMPOTENCY_KEY",
                       f"Idempotency-Key must be 1..{MAX_KEY_LENGTH} printable characters",
                       "Idempotency-Key")
    return key


async def get_order(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    order_id = request.match_info["order_id"]
    order = await engine.store.get(order_id)
    if order is None:
        raise ApiError(404, "ORDER_NOT_FOUND", f"no order {order_id[:64]!r}")
    events = await engine.store.events(order_id)
    return json_response({**order.to_dict(), "events": [e.to_dict() for e in events]})


async def cancel(request: web.Request) -> web.Response:
    """DELETE /api/orders/{id}: cancel an order that has not started executing."""
    order_id = request.match_info["order_id"]
    try:
        order = await request.app[ENGINE].cancel(order_id)
    except KeyError:
        raise ApiError(404, "ORDER_NOT_FOUND", f"no order {order_id[:64]!r}") from None
    except NotCancellable as error:
        status = error.order.status
        code = "ORDER_FINISHED" if status.terminal else "ORDER_EXECUTING"
        raise ApiError(409, code, f"the order is {status.value}; only pending or waiting "
                       "orders can be cancelled") from None
    return json_response(order.to_dict())


async def list_orders(request: web.Request) -> web.Response:
    query = request.query
    status = _status(query.get("status"))
    limit = _limit(query.get("limit"))
    store = request.app[ENGINE].store
    gseq = await store.last_gseq()  # read first: the firehose after it misses nothing in the page
    try:
        page = await store.page(status, limit, query.get("cursor") or None)
    except InvalidCursor:
        raise ApiError(400, "INVALID_CURSOR", "cursor is not one this API returned",
                       "cursor") from None
    return json_response({"orders": [o.to_dict() for o in page.orders],
                          "nextCursor": page.next_cursor, "gseq": gseq})


def _status(text: str | None) -> OrderStatus | None:
    if not text:
        return None
    try:
        return OrderStatus(text)
    except ValueError:
        names = ", ".join(s.value for s in OrderStatus)
        raise ApiError(400, "INVALID_STATUS", f"status must be one of {names}",
                       "status") from None


def _limit(text: str | None) -> int:
    if text is None:
        return 50
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise ApiError(400, "INVALID_LIMIT", f"limit must be an integer in 1..{MAX_PAGE}", "limit")
    return int(text)

"""HTTP routes for orders: submit, read one, list."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson
from aiohttp import web

from engine.api import params
from engine.api.app_keys import ENGINE
from engine.api.auth import caller_of
from engine.api.errors import ApiError, json_response
from engine.api.wire import order_json
from engine.domain.errors import InvalidCursor
from engine.domain.status import OrderStatus
from engine.ports import IdempotencyKey

MAX_PAGE = 200
MAX_KEY_LENGTH = 255


def decode_body(raw: bytes | str) -> Any:
    """Decode JSON without ever raising anything but ApiError (depth, UTF-8, syntax, integers
    beyond 64 bits, and a key given twice in one object: {"amount": 0.01, "amount": 5000})."""
    try:
        body = orjson.loads(raw)
        if isinstance(body, dict | list):
            json.loads(raw, object_pairs_hook=_unique)  # orjson keeps the last of two keys
    except (orjson.JSONDecodeError, UnicodeError, RecursionError, ValueError):
        raise ApiError(400, "INVALID_JSON", "the body is not valid JSON (or repeats a key)") \
            from None
    return body


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("a key is repeated")
    return dict(pairs)


def ws_url(request: web.Request, order_id: str) -> str:
    scheme = "wss" if request.secure or _client_scheme(request) == "https" else "ws"
    return f"{scheme}://{request.host}/api/orders/status/{order_id}"


def _client_scheme(request: web.Request) -> str | None:
    """The scheme the client used, as a TLS-terminating proxy in front says it (Forwarded:
    proto=, or X-Forwarded-Proto; the first hop's, the client's own): the request reaches us as
    http, and a ws:// URL is one a page served over https may not open. A client that sends the
    header itself only changes the URL it is given back."""
    for hop in request.forwarded[:1]:
        if "proto" in hop:
            return hop["proto"].lower()
    proto = request.headers.get("X-Forwarded-Proto")
    return proto.split(",")[0].strip().lower() if proto else None


async def execute(request: web.Request) -> web.Response:
    """POST /api/orders/execute: 201 once the order and its first event are durable."""
    key = _idempotency_key(request)
    raw = await request.read()
    body = decode_body(raw)
    # "The same body" is the same bytes: the fingerprint is the hash of what was sent.
    fingerprint = IdempotencyKey(key, hashlib.sha256(raw).hexdigest()) if key else None
    submitted = await request.app[ENGINE].orders.submit(body, fingerprint, caller_of(request))
    return _created(request, submitted.order_id, submitted.replayed)


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
    orders = request.app[ENGINE].orders
    order_id = request.match_info["order_id"]
    order = await orders.get(order_id, caller_of(request))
    events = await orders.events(order_id)
    # Each stored event body is already the JSON the streams send: spliced in, not re-encoded.
    record = orjson.dumps(order_json(order))
    body = record[:-1] + b',"events":[' + b",".join(e.body for e in events) + b"]}"
    return web.Response(body=body, content_type="application/json")


async def cancel(request: web.Request) -> web.Response:
    """DELETE /api/orders/{id}: cancel an order that has not started executing."""
    order = await request.app[ENGINE].orders.cancel(request.match_info["order_id"], caller_of(request))
    return json_response(order_json(order))


async def cancel_waiting(request: web.Request) -> web.Response:
    """DELETE /api/orders?status=waiting: cancel every waiting order of the caller."""
    if request.query.get("status") != "waiting":
        raise ApiError(400, "INVALID_STATUS", "bulk cancel takes status=waiting", "status")
    cancelled = await request.app[ENGINE].orders.cancel_waiting(caller_of(request))
    return json_response({"cancelled": cancelled, "count": len(cancelled)})


async def list_orders(request: web.Request) -> web.Response:
    query = request.query
    status = _status(query.get("status"))
    limit = params.integer(query, "limit", 50, 1, MAX_PAGE, "INVALID_LIMIT")
    try:
        page, gseq = await request.app[ENGINE].orders.page(status, limit, query.get("cursor"),
                                                    caller_of(request))
    except InvalidCursor as error:
        error.field = "cursor"
        raise
    return json_response({"orders": [order_json(o) for o in page.orders],
                          "nextCursor": page.next_cursor, "gseq": gseq})


def _status(text: str | None) -> OrderStatus | None:
    if text is None:
        return None
    try:
        return OrderStatus(text)
    except ValueError:
        names = ", ".join(s.value for s in OrderStatus)
        raise ApiError(400, "INVALID_STATUS", f"status must be one of {names}",
                       "status") from None

"""GET and PUT /api/risk: the trading state (admin may halt and resume) and the limits."""

from __future__ import annotations

from aiohttp import web

from engine.api.app_keys import ENGINE
from engine.api.auth import caller_of
from engine.api.errors import ApiError, json_response
from engine.api.orders import decode_body
from engine.domain.risk import TradingState
from engine.usecases import Risk


def _json(risk: Risk) -> dict[str, object]:
    return {"state": risk.state.value,
            "maxOrderUsd": None if risk.max_order_usd is None else str(risk.max_order_usd),
            "maxOpenOrders": risk.max_open_orders, "openOrders": risk.open_orders}


async def get_risk(request: web.Request) -> web.Response:
    return json_response(_json(request.app[ENGINE].trading.risk()))


async def put_risk(request: web.Request) -> web.Response:
    """PUT /api/risk {"state": "active" | "halted"}."""
    data = decode_body(await request.read())
    if not isinstance(data, dict):
        raise ApiError(400, "INVALID_BODY", "the body must be a JSON object")
    unknown = sorted(set(data) - {"state"})
    if unknown:
        raise ApiError(422, "UNKNOWN_FIELD", f"unknown field {unknown[0][:64]!r}", unknown[0][:64])
    text = data.get("state")
    if not isinstance(text, str) or text not in {s.value for s in TradingState}:
        raise ApiError(422, "INVALID_STATE", "state is active or halted", "state")
    state = TradingState(text)
    risk = await request.app[ENGINE].trading.set_trading_state(state, caller_of(request))
    return json_response(_json(risk))

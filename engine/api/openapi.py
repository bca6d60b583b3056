"""The OpenAPI 3 description of the HTTP API, served at /api/openapi.json (a test keeps it true)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from engine.api.errors import json_response
from engine.domain.events import Change
from engine.domain.order import OrderType
from engine.domain.status import OrderStatus
from engine.domain.tokens import TOKENS

ERROR = {"$ref": "#/components/schemas/Error"}
UUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
ORDER_ID = {"name": "order_id", "in": "path", "required": True,
            "schema": {"type": "string", "pattern": UUID}}
AFTER = {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0,
                                                     "maximum": 10**12 - 1}}
TOKEN_NAMES = [name for t in TOKENS for name in (t.symbol, t.mint)] + ["WSOL"]
NUMBER = {"oneOf": [{"type": "number"}, {"type": "string", "pattern":
          r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$", "maxLength": 64}]}
PRICE = {"oneOf": [{"type": "number", "minimum": 1e-15, "maximum": 1e15}, NUMBER["oneOf"][1]],
         "description": "in [1e-15, 1e15]"}
STATUSES = [s.value for s in OrderStatus]
WEBSOCKET = ["websocket"]  # HTTP fuzzers cannot speak WebSocket: schemathesis.toml skips these
REFUSED = (401, 403, 429)  # no key, a key without the scope, over the key's rate


def _json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": schema}
    if example is not None:
        body["example"] = example
    return {"content": {"application/json": body}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "structured error", **_json(ERROR)}
            for c in sorted({*codes, *REFUSED, 403})}


def _body(schema: dict[str, Any], examples: dict[str, Any] | None = None,
          required: bool = True) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": schema}
    if examples:
        content["examples"] = {k: {"value": v} for k, v in examples.items()}
    return {"required": required, "content": {"application/json": content}}


def _socket(summary: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {"get": {"summary": summary, "tags": WEBSOCKET, "parameters": parameters,
                    "responses": {"101": {"description": "switching protocols"},
                                  **_errors(400)}}}


ORDER_EXAMPLES = {
    "market": {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1.5,
               "slippage": 0.01},
    "limit": {"orderType": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 2,
              "limitPrice": 155, "ttlSeconds": 3600},
    "sniper": {"orderType": "sniper", "tokenIn": "SOL",
               "tokenOut": "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU", "amount": 0.5,
               "slippage": 0.2, "maxPrice": 0.000002},
    "stop": {"orderType": "stop", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1,
             "triggerPrice": 120, "ttlSeconds": 86400},
    "trailing_stop": {"orderType": "trailing_stop", "tokenIn": "SOL", "tokenOut": "USDC",
                      "amount": 1, "trail": 0.05, "ttlSeconds": 86400},
    "bracket": {"orderType": "bracket", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1,
                "takeProfitPrice": 1000, "stopPrice": 10, "ttlSeconds": 86400},
    "twap": {"orderType": "twap", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 10,
             "slices": 10, "intervalSeconds": 60, "limitPrice": 100},
    "exact_out": {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 150,
                  "swapMode": "ExactOut", "slippage": 0.01},
}
SWAP_MODE = {"swapMode": {"type": "string", "enum": ["ExactIn", "ExactOut"], "default": "ExactIn",
                          "description": "ExactOut: amount is what you receive of tokenOut, and "
                                         "slippage bounds what you pay"}}
LISTED = {"type": "string", "enum": TOKEN_NAMES,
          "description": "a listed symbol (any ASCII case) or its mint"}
MINT = {"type": "string", "pattern": "^[1-9A-HJ-NP-Za-km-z]{32,44}$"}
COMMON = {"priorityFee": {"oneOf": [{"type": "string", "enum": ["auto", "high"]},
                                    {"type": "integer", "minimum": 0, "maximum": 100_000_000}],
                          "description": "micro-lamports per compute unit, or from the recent "
                                         "fees on the swap's accounts (default: auto; snipers "
                                         "high)"},
          "tokenIn": LISTED, "tokenOut": LISTED,
          "amount": NUMBER, "slippage": {"oneOf": [
              {"type": "number", "exclusiveMinimum": True, "minimum": 0, "maximum": 0.5},
              NUMBER["oneOf"][1]], "default": 0.01, "nullable": True}}
EXPIRY = {"expiresAt": {"type": "string", "format": "date-time", "nullable": True},
          "ttlSeconds": {"oneOf": [{"type": "number", "exclusiveMinimum": True, "minimum": 0,
                                    "maximum": 2_592_000}, NUMBER["oneOf"][1]],
                         "nullable": True}}


def _order_request(kind: OrderType, extra: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "required": ["orderType", "tokenIn", "tokenOut", "amount", *required],
            "properties": {"orderType": {"type": "string", "enum": [kind.value]}, **COMMON,
                           **extra}}


QUOTE_LEG = {"type": "object", "properties": {
    "venue": {"type": "string"}, "pool": {"type": "string"}, "label": {"type": "string"},
    "inAmount": {"type": "string"}, "outAmount": {"type": "string"},
    "feeAmount": {"type": "string"}, "priceImpactPct": {"type": "string"},
    "slot": {"type": "integer"}, "poolOpenedSlot": {"type": "integer", "nullable": True}}}
SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "field": {"type": "string"}}}}},
    "OrderRequest": {"oneOf": [
        _order_request(OrderType.MARKET, SWAP_MODE, []),
        _order_request(OrderType.LIMIT, {"limitPrice": PRICE, **EXPIRY, **SWAP_MODE},
                       ["limitPrice"]),
        _order_request(OrderType.STOP, {"triggerPrice": PRICE, **EXPIRY, **SWAP_MODE},
                       ["triggerPrice"]),
        _order_request(OrderType.TRAILING_STOP, {"trail": {"oneOf": [
            {"type": "number", "exclusiveMinimum": True, "minimum": 0, "exclusiveMaximum": True,
             "maximum": 0.5}, NUMBER["oneOf"][1]]}, **EXPIRY}, ["trail"]),
        _order_request(OrderType.BRACKET, {"takeProfitPrice": PRICE, "stopPrice": PRICE,
                                           **EXPIRY}, ["takeProfitPrice", "stopPrice"]),
        _order_request(OrderType.TWAP, {
            "slices": {"type": "integer", "minimum": 2, "maximum": 1000},
            "intervalSeconds": {"type": "integer", "minimum": 1, "maximum": 86_400},
            "limitPrice": {**PRICE, "nullable": True,
                           "description": "a slice whose net price is below it is skipped "
                                          "and carried to the next"}, **EXPIRY},
            ["slices", "intervalSeconds"]),
        _order_request(OrderType.SNIPER, {"maxPrice": {**PRICE, "nullable": True}, **EXPIRY,
                                          "tokenOut": {"oneOf": [LISTED, MINT],
                                                       "description": "any mint: a sniper "
                                                       "waits for its pool"}}, [])],
        "discriminator": {"propertyName": "orderType"}},
    "Accepted": {"type": "object", "required": ["orderId", "status", "wsUpgrade"],
                 "properties": {"orderId": {"type": "string", "pattern": UUID},
                                "status": {"type": "string", "enum": ["pending"]},
                                "wsUpgrade": {"type": "string"}}},
    "Order": {"type": "object", "required": ["orderId", "status", "orderType", "tokenIn",
                                             "tokenOut", "amount", "attempts", "createdAt"],
              "properties": {
                  "orderId": {"type": "string"},
                  "status": {"type": "string", "enum": STATUSES},
                  "orderType": {"type": "string", "enum": [t.value for t in OrderType]},
                  "tokenIn": {"type": "string"}, "tokenOut": {"type": "string"},
                  "inputMint": {"type": "string"}, "outputMint": {"type": "string"},
                  "amount": {"type": "string"}, "slippage": {"type": "string"},
                  "limitPrice": {"type": "string", "nullable": True},
                  "maxPrice": {"type": "string", "nullable": True},
                  "triggerPrice": {"type": "string", "nullable": True},
                  "trail": {"type": "string"}, "highWaterMark": {"type": "string"},
                  "takeProfitPrice": {"type": "string"}, "stopPrice": {"type": "string"},
                  "swapMode": {"type": "string", "enum": ["ExactIn", "ExactOut"]},
                  "slices": {"type": "integer"}, "intervalSeconds": {"type": "integer"},
                  "filled": {"type": "string"}, "received": {"type": "string"},
                  "remaining": {"type": "string"},
                  "averagePrice": {"type": "string", "nullable": True},
                  "children": {"type": "array", "items": {"type": "string"},
                               "description": "a TWAP's slices, each an order of its own"},
                  "parentId": {"type": "string", "description": "a TWAP slice's parent"},
                  "expiresAt": {"type": "string", "nullable": True},
                  "attempts": {"type": "integer", "minimum": 0},
                  "createdAt": {"type": "string"}, "updatedAt": {"type": "string"},
                  "route": {"type": "object", "nullable": True},
                  "txHash": {"type": "string", "nullable": True},
                  "fill": {"type": "object", "nullable": True},
                  "error": {"type": "object", "nullable": True},
                  "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}},
    "Event": {"type": "object", "required": ["orderId", "seq", "gseq", "status", "at"],
              "properties": {"orderId": {"type": "string"},
                             "seq": {"type": "integer", "minimum": 1},
                             "gseq": {"type": "integer", "minimum": 0},
                             "status": {"type": "string", "enum": STATUSES},
                             "at": {"type": "string"}},
              "description": "and the per-status fields of the README's Events table; one "
                             f"of {len(Change.__args__)} kinds of change"},
    "Quote": {"type": "object", "required": ["inputMint", "inAmount", "outputMint",
                                             "outAmount", "otherAmountThreshold", "swapMode",
                                             "slippageBps", "routePlan"],
              "properties": {
                  "inputMint": {"type": "string"}, "inAmount": {"type": "string"},
                  "outputMint": {"type": "string"}, "outAmount": {"type": "string"},
                  "otherAmountThreshold": {"type": "string"},
                  "swapMode": {"type": "string", "enum": ["ExactIn", "ExactOut"]},
                  "slippageBps": {"type": "integer"}, "priceImpactPct": {"type": "string"},
                  "routePlan": {"type": "array", "items": {"type": "object", "properties": {
                      "swapInfo": {"type": "object"}, "percent": {"type": "integer"}}}},
                  "reason": {"type": "string"},
                  "alternatives": {"type": "array", "items": QUOTE_LEG},
                  "contextSlot": {"type": "integer"}, "timeTaken": {"type": "number"}}},
    "Wallet": {"type": "object", "required": ["address", "balances"], "properties": {
        "address": {"type": "string", "description": "the wallet's public key (base58)"},
        "balances": {
        "type": "array", "items": {"type": "object", "required": ["mint", "atoms"],
                                   "properties": {
                                       "mint": {"type": "string"},
                                       "symbol": {"type": "string", "nullable": True},
                                       "atoms": {"type": "string", "pattern": "^[0-9]+$"},
                                       "amount": {"type": "string", "nullable": True},
                                       "tokenAccount": {"type": "boolean"}}}}}},
    "Launch": {"type": "object", "required": ["mint", "decimals", "venue", "slot"],
               "properties": {"mint": {"type": "string"}, "decimals": {"type": "integer"},
                              "venue": {"type": "string", "enum": ["raydium", "meteora"]},
                              "pool": {"type": "string"}, "quoteMint": {"type": "string"},
                              "price": {"type": "string"}, "liquidity": {"type": "string"},
                              "slot": {"type": "integer"}, "scheduled": {"type": "boolean"}}},
    "Risk": {"type": "object", "required": ["state", "maxOrderUsd", "maxOpenOrders",
                                            "openOrders"], "properties": {
        "state": {"type": "string", "enum": ["active", "halted"]},
        "maxOrderUsd": {"type": "string", "nullable": True},
        "maxOpenOrders": {"type": "integer", "nullable": True},
        "openOrders": {"type": "integer", "minimum": 0}}},
    "Health": {"type": "object", "required": ["status"], "properties": {
        "status": {"type": "string", "enum": ["ok", "degraded", "starting"]},
        "reasons": {"type": "array", "items": {"type": "string"}}}},
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Solana order execution engine", "version": "0.2.0",
             "description": "Market, limit, stop, trailing stop, bracket, TWAP and sniper orders "
                            "(exact in or exact out) routed "
                            "between Raydium and Meteora, directly or through SOL or USDC. "
                            "WebSocket streams are described in the README (AsyncAPI section). "
                            "A 422 is a refusal by the engine's rules (NO_ROUTE, SAME_TOKEN, "
                            "UNKNOWN_TOKEN, INVALID_MINT...) that a schema cannot express."},
    "security": [{"apiKey": []}, {}],  # no key needed on loopback until the first key exists
    "paths": {
        "/api/orders/execute": {
            "post": {
                "summary": "Submit an order (201 once it is durably stored)",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                                           "pattern": "^[ -~]+$"}}],
                "requestBody": _body({"$ref": "#/components/schemas/OrderRequest"},
                                     ORDER_EXAMPLES),
                "responses": {"201": {"description": "accepted", **_json(
                    {"$ref": "#/components/schemas/Accepted"})},
                    **_errors(400, 409, 413, 415, 422, 503)},
                "description": "Refused before anything is stored: 503 TRADING_HALTED while "
                               "trading is halted, 422 NOTIONAL_TOO_LARGE over --max-order-usd, "
                               "429 TOO_MANY_OPEN_ORDERS at --max-open-orders.",
            },
            **_socket("WebSocket upgrade: send the order as the first message", []),
        },
        "/api/orders/status/{order_id}": _socket(
            "WebSocket: the order's events from pending, then live (?after=N)", [ORDER_ID, AFTER]),
        "/api/orders/stream": _socket(
            "WebSocket: every order's events in gseq order (?after=G)", [AFTER]),
        "/api/orders/{order_id}": {
            "get": {"summary": "An order with its events", "parameters": [ORDER_ID],
                    "responses": {"200": {"description": "the order", **_json(
                        {"$ref": "#/components/schemas/Order"})}, **_errors(404, 503)}},
            "delete": {"summary": "Cancel a pending or waiting order", "parameters": [ORDER_ID],
                       "responses": {"200": {"description": "cancelled", **_json(
                           {"$ref": "#/components/schemas/Order"})}, **_errors(404, 409, 503)}},
        },
        "/api/orders": {"get": {
            "summary": "The caller's orders (everyone's for admin), newest first, keyset-paginated",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": STATUSES}},
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "cursor", "in": "query",
                 "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}}],
            "responses": {"200": {"description": "a page", **_json({
                "type": "object", "required": ["orders", "nextCursor", "gseq"], "properties": {
                    "orders": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}},
                    "nextCursor": {"type": "string", "nullable": True},
                    "gseq": {"type": "integer", "description": "the feed's position when read: "
                             "resume the firehose after it"}}})}, **_errors(400, 503)}},
            "delete": {
                "summary": "Cancel every waiting order of the caller (all of them for admin)",
                "parameters": [{"name": "status", "in": "query", "required": True,
                                "schema": {"type": "string", "enum": ["waiting"]}}],
                "responses": {"200": {"description": "the orders cancelled", **_json({
                    "type": "object", "required": ["cancelled", "count"], "properties": {
                        "cancelled": {"type": "array", "items": {"type": "string"}},
                        "count": {"type": "integer"}}})}, **_errors(400, 503)}}},
        "/api/quotes": {"get": {
            "summary": "A quote in the aggregator shape (ExactIn, or ExactOut: amount is the "
                       "output, otherAmountThreshold the most in)",
            "parameters": [
                {"name": "inputMint", "in": "query", "required": True,
                 "schema": {"type": "string", "enum": TOKEN_NAMES}},
                {"name": "outputMint", "in": "query", "required": True,
                 "schema": {"type": "string", "enum": TOKEN_NAMES}},
                {"name": "amount", "in": "query", "required": True,
                 "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}},
                {"name": "slippageBps", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 5000}},
                {"name": "swapMode", "in": "query",
                 "schema": {"type": "string", "enum": ["ExactIn", "ExactOut"]}}],
            "responses": {"200": {"description": "the best plan", **_json(
                {"$ref": "#/components/schemas/Quote"})}, **_errors(400, 422)}}},
        "/api/wallet": {"get": {"summary": "The wallet's balances",
                                "responses": {"200": {"description": "balances", **_json(
                                    {"$ref": "#/components/schemas/Wallet"})},
                                    **_errors()}}},
        "/api/risk": {
            "get": {"summary": "The trading state and the pre-trade limits",
                    "responses": {"200": {"description": "risk", **_json(
                        {"$ref": "#/components/schemas/Risk"})}, **_errors()}},
            "put": {"summary": "Halt or resume trading (admin once keys exist; kept across "
                               "restarts)",
                    "requestBody": _body({"type": "object", "additionalProperties": False,
                                          "required": ["state"], "properties": {
                                              "state": {"type": "string",
                                                        "enum": ["active", "halted"]}}},
                                         {"resume": {"state": "active"}}),
                    "responses": {"200": {"description": "the new state", **_json(
                        {"$ref": "#/components/schemas/Risk"})},
                        **_errors(400, 415, 422, 503)}}},
        "/api/sim": {"get": {
            "summary": "Simulation: whether its controls are served (only with --sim-api)",
            "responses": {"200": {"description": "served", **_json({"type": "object"})},
                          **_errors(404)}}},
        "/api/sim/launch": {"post": {
            "summary": "Simulation: launch a token and its first pool (admin once keys exist)",
            "requestBody": _body({"type": "object", "additionalProperties": False,
                                  "properties": {
                                      "mint": {"type": "string", "nullable": True},
                                      "venue": {"type": "string", "nullable": True,
                                                "enum": ["raydium", "meteora", None]},
                                      "quote": {"type": "string", "enum": ["SOL", "USDC"]},
                                      "price": {"type": "number", "nullable": True,
                                                "minimum": 1e-9, "maximum": 10_000},
                                      "liquidity": {"type": "number", "nullable": True,
                                                    "minimum": 1, "maximum": 10_000_000},
                                      "slot": {"type": "integer", "minimum": 0,
                                               "nullable": True}}},
                                 {"raydium": {"venue": "raydium", "price": 0.000001,
                                              "liquidity": 85}}),
            "responses": {"201": {"description": "launched", **_json(
                {"$ref": "#/components/schemas/Launch"})}, **_errors(400, 415, 422)}}},
        "/": {"get": {"summary": "The live dashboard (HTML)", "security": [],
                      "responses": {"200": {"description": "the page"}}}},
        "/static/{name}": {"get": {
            "summary": "The dashboard's script and style sheet", "security": [],
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "schema": {"type": "string",
                                       "enum": ["dashboard.js", "dashboard.css"]}}],
            "responses": {"200": {"description": "the file"}, **_errors(404)}}},
        "/healthz": {"get": {"summary": "Liveness and readiness (only the status without a key "
                                        "once keys exist)", "security": [],
                             "responses": {
                                 "200": {"description": "accepting orders", **_json(
                                     {"$ref": "#/components/schemas/Health"})},
                                 "503": {"description": "starting or stopping", **_json(
                                     {"$ref": "#/components/schemas/Health"})}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (text format)",
                             "responses": {"200": {"description": "metrics"}, **_errors()}}},
        "/api/openapi.json": {"get": {"summary": "This document", "security": [],
                                      "responses": {"200": {"description": "OpenAPI 3"}}}},
    },
    "components": {
        "securitySchemes": {"apiKey": {
            "type": "http", "scheme": "bearer",
            "description": "python -m engine keys create --name NAME --scope read|trade|admin; "
                           "WebSockets may offer the subprotocol bearer.<key> beside "
                           "order-engine.v1"}},
        "schemas": SCHEMAS},
}


async def openapi(request: web.Request) -> web.Response:
    return json_response(SPEC)

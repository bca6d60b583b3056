"""The OpenAPI 3 description of the HTTP API, served at /api/openapi.json (a test keeps it true)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from engine.api.errors import json_response

ERROR = {"$ref": "#/components/schemas/Error"}
ORDER_ID = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}}


def _json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": schema}
    if example is not None:
        body["example"] = example
    return {"content": {"application/json": body}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "structured error", **_json(ERROR)} for c in codes}


ORDER_EXAMPLES = {
    "market": {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1.5,
               "slippage": 0.01},
    "limit": {"orderType": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 2,
              "limitPrice": 155, "ttlSeconds": 3600},
    "sniper": {"orderType": "sniper", "tokenIn": "SOL",
               "tokenOut": "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU", "amount": 0.5,
               "slippage": 0.2, "maxPrice": 0.000002},
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Solana order execution engine", "version": "0.1.0",
             "description": "Market, limit and sniper orders routed between Raydium and Meteora. "
                            "WebSocket streams are described in the README (AsyncAPI section)."},
    "paths": {
        "/api/orders/execute": {
            "post": {
                "summary": "Submit an order (201 once it is durably stored)",
                "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string", "maxLength": 255}}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/OrderRequest"},
                    "examples": {k: {"value": v} for k, v in ORDER_EXAMPLES.items()}}}},
                "responses": {"201": {"description": "accepted", **_json(
                    {"$ref": "#/components/schemas/Accepted"})},
                    **_errors(400, 409, 413, 422, 503)},
            },
            "get": {"summary": "WebSocket upgrade: send the order as the first message",
                    "responses": {"101": {"description": "switching protocols"},
                                  **_errors(400)}},
        },
        "/api/orders/status/{order_id}": {"get": {
            "summary": "WebSocket: the order's events from pending, then live (?after=N)",
            "parameters": [ORDER_ID, {"name": "after", "in": "query",
                                      "schema": {"type": "integer", "minimum": 0}}],
            "responses": {"101": {"description": "switching protocols"}, **_errors(400)}}},
        "/api/orders/stream": {"get": {
            "summary": "WebSocket: every order's events in gseq order (?after=G)",
            "parameters": [{"name": "after", "in": "query",
                            "schema": {"type": "integer", "minimum": 0}}],
            "responses": {"101": {"description": "switching protocols"}, **_errors(400)}}},
        "/api/orders/{order_id}": {
            "get": {"summary": "An order with its events", "parameters": [ORDER_ID],
                    "responses": {"200": {"description": "the order", **_json(
                        {"$ref": "#/components/schemas/Order"})}, **_errors(404)}},
            "delete": {"summary": "Cancel a pending or waiting order", "parameters": [ORDER_ID],
                       "responses": {"200": {"description": "cancelled", **_json(
                           {"$ref": "#/components/schemas/Order"})}, **_errors(404, 409)}},
        },
        "/api/orders": {"get": {
            "summary": "Orders, newest first, keyset-paginated",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "a page", **_json({
                "type": "object", "properties": {
                    "orders": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}},
                    "nextCursor": {"type": "string", "nullable": True},
                    "gseq": {"type": "integer", "description": "the feed's position when read: "
                             "resume the firehose after it"}}})}, **_errors(400)}},
            "delete": {
                "summary": "Cancel every waiting order of the caller (all of them for admin)",
                "parameters": [{"name": "status", "in": "query", "required": True,
                                "schema": {"type": "string", "enum": ["waiting"]}}],
                "responses": {"200": {"description": "the orders cancelled", **_json({
                    "type": "object", "properties": {
                        "cancelled": {"type": "array", "items": {"type": "string"}},
                        "count": {"type": "integer"}}})}, **_errors(400)}}},
        "/api/quotes": {"get": {
            "summary": "An ExactIn quote in the aggregator shape",
            "parameters": [{"name": n, "in": "query", "required": n != "slippageBps",
                            "schema": {"type": "string"}}
                           for n in ("inputMint", "outputMint", "amount", "slippageBps")],
            "responses": {"200": {"description": "the best plan", **_json({"type": "object"})},
                          **_errors(400, 422)}}},
        "/api/wallet": {"get": {"summary": "The simulated wallet's balances",
                                "responses": {"200": {"description": "balances",
                                                      **_json({"type": "object"})}}}},
        "/api/sim": {"get": {
            "summary": "Simulation: whether its controls are served (only with --sim-api)",
            "responses": {"200": {"description": "served", **_json({"type": "object"})},
                          **_errors(404)}}},
        "/api/sim/launch": {"post": {
            "summary": "Simulation: launch a token and its first pool",
            "requestBody": {"required": False, "content": {"application/json": {
                "schema": {"type": "object", "properties": {
                    "mint": {"type": "string"}, "venue": {"enum": ["raydium", "meteora"]},
                    "quote": {"enum": ["SOL", "USDC"]}, "price": {"type": "number"},
                    "liquidity": {"type": "number"},
                    "slot": {"type": "integer", "minimum": 0}}},
                "examples": {"raydium": {"value": {"venue": "raydium", "price": 0.000001,
                                                   "liquidity": 85}}}}}},
            "responses": {"201": {"description": "launched", **_json({"type": "object"})},
                          **_errors(400, 422, 429)}}},
        "/": {"get": {"summary": "The live dashboard (HTML)",
                      "responses": {"200": {"description": "the page"}}}},
        "/static/{name}": {"get": {"summary": "The dashboard's script and style sheet",
                                   "parameters": [{"name": "name", "in": "path", "required": True,
                                                   "schema": {"type": "string"}}],
                                   "responses": {"200": {"description": "the file"},
                                                 **_errors(404)}}},
        "/healthz": {"get": {"summary": "Liveness and readiness",
                             "responses": {"200": {"description": "accepting orders"},
                                           "503": {"description": "starting or stopping"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (text format)",
                             "responses": {"200": {"description": "metrics"}}}},
        "/api/openapi.json": {"get": {"summary": "This document",
                                      "responses": {"200": {"description": "OpenAPI 3"}}}},
    },
    "security": [{"apiKey": []}, {}],  # no key needed on loopback until the first key exists
    "components": {"securitySchemes": {"apiKey": {
        "type": "http", "scheme": "bearer",
        "description": "python -m engine keys create --name NAME --scope read|trade|admin; "
                       "WebSockets may offer the subprotocol bearer.<key> beside "
                       "order-engine.v1"}},
                   "schemas": {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"], "properties": {
                "code": {"type": "string"}, "message": {"type": "string"},
                "field": {"type": "string"}}}}},
        "OrderRequest": {"type": "object", "required": ["orderType", "tokenIn", "tokenOut",
                                                         "amount"], "properties": {
            "orderType": {"enum": ["market", "limit", "sniper"]},
            "tokenIn": {"type": "string"}, "tokenOut": {"type": "string"},
            "amount": {"oneOf": [{"type": "number"}, {"type": "string"}]},
            "slippage": {"type": "number", "minimum": 0, "maximum": 0.5, "default": 0.01},
            "limitPrice": {"type": "number"}, "maxPrice": {"type": "number"},
            "expiresAt": {"type": "string", "format": "date-time"},
            "ttlSeconds": {"type": "number"}}},
        "Accepted": {"type": "object", "required": ["orderId", "status", "wsUpgrade"],
                     "properties": {"orderId": {"type": "string", "format": "uuid"},
                                    "status": {"enum": ["pending"]},
                                    "wsUpgrade": {"type": "string"}}},
        "Order": {"type": "object", "required": ["orderId", "status", "orderType"],
                  "properties": {"orderId": {"type": "string"}, "status": {"type": "string"},
                                 "orderType": {"type": "string"},
                                 "events": {"type": "array", "items": {"type": "object"}}}},
    }},
}


async def openapi(request: web.Request) -> web.Response:
    return json_response(SPEC)

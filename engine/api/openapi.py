"""The OpenAPI 3 description of the HTTP API, served at /api/openapi.json (a test keeps it true)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from engine.api.errors import json_response
from engine.api.schemas import (
    AFTER,
    ORDER_EXAMPLES,
    ORDER_ID,
    SCHEMAS,
    STATUSES,
    TOKEN_NAMES,
    VENUE_LIST,
    as_json,
    error_responses,
    request_body,
    websocket_route,
)

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Solana order execution engine", "version": "0.2.0",
             "description": "Market, limit, stop, stop-limit, trailing stop, bracket, TWAP and sniper orders "
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
                "requestBody": request_body({"$ref": "#/components/schemas/OrderRequest"},
                                     ORDER_EXAMPLES),
                "responses": {"201": {"description": "accepted", **as_json(
                    {"$ref": "#/components/schemas/Accepted"})},
                    **error_responses(400, 409, 413, 415, 422, 503)},
                "description": "Refused before anything is stored: 503 TRADING_HALTED while "
                               "trading is halted, 422 NOTIONAL_TOO_LARGE over --max-order-usd "
                               "(503 NODE_UNHEALTHY while the node cannot price it), "
                               "429 TOO_MANY_OPEN_ORDERS at --max-open-orders.",
            },
            **websocket_route("WebSocket upgrade: send the order as the first message", []),
        },
        "/api/orders/status/{order_id}": websocket_route(
            "WebSocket: the order's events from pending, then live (?after=N)", [ORDER_ID, AFTER]),
        "/api/orders/stream": websocket_route(
            "WebSocket: every order's events in gseq order (?after=G)", [AFTER]),
        "/api/orders/{order_id}": {
            "get": {"summary": "An order with its events", "parameters": [ORDER_ID],
                    "responses": {"200": {"description": "the order", **as_json(
                        {"$ref": "#/components/schemas/Order"})}, **error_responses(404, 503)}},
            "delete": {"summary": "Cancel a pending or waiting order", "parameters": [ORDER_ID],
                       "responses": {"200": {"description": "cancelled", **as_json(
                           {"$ref": "#/components/schemas/Order"})}, **error_responses(404, 409, 503)}},
        },
        "/api/orders": {"get": {
            "summary": "The caller's orders (everyone's for admin), newest first, keyset-paginated",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": STATUSES}},
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                {"name": "cursor", "in": "query",
                 "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"}}],
            "responses": {"200": {"description": "a page", **as_json({
                "type": "object", "required": ["orders", "nextCursor", "gseq"], "properties": {
                    "orders": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}},
                    "nextCursor": {"type": "string", "nullable": True},
                    "gseq": {"type": "integer", "description": "the feed's position when read: "
                             "resume the firehose after it"}}})}, **error_responses(400, 503)}},
            "delete": {
                "summary": "Cancel every waiting order of the caller (all of them for admin)",
                "parameters": [{"name": "status", "in": "query", "required": True,
                                "schema": {"type": "string", "enum": ["waiting"]}}],
                "responses": {"200": {"description": "the orders cancelled", **as_json({
                    "type": "object", "required": ["cancelled", "count"], "properties": {
                        "cancelled": {"type": "array", "items": {"type": "string"}},
                        "count": {"type": "integer"}}})}, **error_responses(400, 503)}}},
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
                 "schema": {"type": "string", "enum": ["ExactIn", "ExactOut"]}},
                {"name": "dexes", "in": "query", "description": "only these venues "
                 "(comma-separated: raydium, meteora)", "schema": VENUE_LIST},
                {"name": "excludeDexes", "in": "query", "description": "not these venues",
                 "schema": VENUE_LIST},
                {"name": "onlyDirectRoutes", "in": "query", "description": "no route through "
                 "SOL or USDC", "schema": {"type": "boolean"}},
                {"name": "restrictIntermediateTokens", "in": "query", "description": "accepted "
                 "for Jupiter's clients: routes go through SOL or USDC only, either way",
                 "schema": {"type": "boolean"}}],
            "responses": {"200": {"description": "the best plan", **as_json(
                {"$ref": "#/components/schemas/Quote"})}, **error_responses(400, 422, 503)}}},
        "/api/tokens": {"get": {
            "summary": "The tokens the API knows by symbol: mint and decimals (an amount in "
                       "atoms is the amount times 10^decimals)",
            "responses": {"200": {"description": "tokens", **as_json({
                "type": "object", "required": ["tokens"], "properties": {"tokens": {
                    "type": "array", "items": {
                        "type": "object", "required": ["symbol", "mint", "decimals"],
                        "properties": {"symbol": {"type": "string"}, "mint": {"type": "string"},
                                       "decimals": {"type": "integer"}}}}}})},
                **error_responses()}}},
        "/api/tokens/{mint}": {"get": {
            "summary": "One token by symbol or mint: a listed one, or any SPL Token mint on the "
                       "cluster (a launched token), with the decimals its mint declares",
            "parameters": [{"name": "mint", "in": "path", "required": True,
                            "schema": {"type": "string", "maxLength": 64}}],
            "responses": {"200": {"description": "the token", **as_json({
                "type": "object", "required": ["symbol", "mint", "decimals"],
                "properties": {"symbol": {"type": "string"}, "mint": {"type": "string"},
                               "decimals": {"type": "integer"}}})},
                **error_responses(404)}}},
        "/api/wallet": {"get": {"summary": "The wallet's balances",
                                "responses": {"200": {"description": "balances", **as_json(
                                    {"$ref": "#/components/schemas/Wallet"})},
                                    **error_responses(503)}}},
        "/api/risk": {
            "get": {"summary": "The trading state and the pre-trade limits",
                    "responses": {"200": {"description": "risk", **as_json(
                        {"$ref": "#/components/schemas/Risk"})}, **error_responses()}},
            "put": {"summary": "Halt or resume trading (admin once keys exist; kept across "
                               "restarts)",
                    "requestBody": request_body({"type": "object", "additionalProperties": False,
                                          "required": ["state"], "properties": {
                                              "state": {"type": "string",
                                                        "enum": ["active", "halted"]}}},
                                         {"resume": {"state": "active"}}),
                    "responses": {"200": {"description": "the new state", **as_json(
                        {"$ref": "#/components/schemas/Risk"})},
                        **error_responses(400, 415, 422, 503)}}},
        "/api/sim": {"get": {
            "summary": "Simulation: whether its controls are served (they are with --sim-api)",
            "responses": {"200": {"description": "{enabled}, and with --sim-api whether this "
                                                 "caller may launch, the launch rate and any "
                                                 "frozen pool", **as_json({
                                                     "type": "object", "required": ["enabled"],
                                                     "properties": {
                                                         "enabled": {"type": "boolean"},
                                                         "canLaunch": {"type": "boolean"},
                                                         "launchesPerMinute": {
                                                             "type": "integer"},
                                                         "problems": {"type": "array"}}})},
                          **error_responses(401)}}},
        "/api/sim/launch": {"post": {
            "summary": "Simulation: launch a token and its first pool (admin once keys exist)",
            "requestBody": request_body({"type": "object", "additionalProperties": False,
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
            "responses": {"201": {"description": "launched", **as_json(
                {"$ref": "#/components/schemas/Launch"})}, **error_responses(400, 415, 422)}}},
        "/": {"get": {"summary": "The live dashboard (HTML)", "security": [],
                      "responses": {"200": {"description": "the page"}}}},
        "/static/{name}": {"get": {
            "summary": "The dashboard's script and style sheet", "security": [],
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "schema": {"type": "string",
                                       "enum": ["dashboard.js", "dashboard.css"]}}],
            "responses": {"200": {"description": "the file"}, **error_responses(404)}}},
        "/healthz": {"get": {"summary": "Liveness and readiness (only the status without a key "
                                        "once keys exist)", "security": [],
                             "responses": {
                                 "200": {"description": "accepting orders", **as_json(
                                     {"$ref": "#/components/schemas/Health"})},
                                 "503": {"description": "starting or stopping", **as_json(
                                     {"$ref": "#/components/schemas/Health"})}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (text format)",
                             "responses": {"200": {"description": "metrics"}, **error_responses()}}},
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

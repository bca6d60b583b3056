"""The OpenAPI document's parts: parameters, examples, and the schemas of requests and answers."""

from __future__ import annotations

from typing import Any

from engine.domain.events import Change
from engine.domain.order_types import ORDER_TYPES
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
# Jupiter's `dexes`, here the engine's venues (any case is taken; empty limits nothing).
VENUE_LIST = {"type": "string", "pattern": "^((raydium|meteora)(,(raydium|meteora))*)?$"}
WEBSOCKET = ["websocket"]  # HTTP fuzzers cannot speak WebSocket: schemathesis.toml skips these
REFUSED = (401, 403, 429)  # no key, a key without the scope, over the key's rate


def as_json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": schema}
    if example is not None:
        body["example"] = example
    return {"content": {"application/json": body}}


def error_responses(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "structured error", **as_json(ERROR)}
            for c in sorted({*codes, *REFUSED, 403})}


def request_body(schema: dict[str, Any], examples: dict[str, Any] | None = None,
                 required: bool = True) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": schema}
    if examples:
        content["examples"] = {k: {"value": v} for k, v in examples.items()}
    return {"required": required, "content": {"application/json": content}}


def websocket_route(summary: str, parameters: list[dict[str, Any]]) -> dict[str, Any]:
    return {"get": {"summary": summary, "tags": WEBSOCKET, "parameters": parameters,
                    "responses": {"101": {"description": "switching protocols"},
                                  **error_responses(400)}}}


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
# OpenAPI 3.0: with an enum, a nullable field must list null among its values too.
SWAP_MODE = {"swapMode": {"type": "string", "enum": ["ExactIn", "ExactOut", None],
                          "default": "ExactIn", "nullable": True,
                          "description": "ExactOut: amount is what you receive of tokenOut, and "
                                         "slippage bounds what you pay"}}
LISTED = {"type": "string", "enum": TOKEN_NAMES,
          "description": "a listed symbol (any ASCII case) or its mint"}
MINT = {"type": "string", "pattern": "^[1-9A-HJ-NP-Za-km-z]{32,44}$"}
COMMON = {"priorityFee": {"oneOf": [{"type": "string", "enum": ["auto", "high", None],
                                     "nullable": True},
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


def order_request(kind: str, extra: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "required": ["orderType", "tokenIn", "tokenOut", "amount", *required],
            "properties": {"orderType": {"type": "string", "enum": [kind]}, **COMMON,
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
        order_request("market", SWAP_MODE, []),
        order_request("limit", {"limitPrice": PRICE, **EXPIRY, **SWAP_MODE},
                       ["limitPrice"]),
        order_request("stop", {"triggerPrice": PRICE, **EXPIRY, **SWAP_MODE},
                       ["triggerPrice"]),
        order_request("stop_limit", {"triggerPrice": PRICE, "limitPrice": PRICE, **EXPIRY,
                                     **SWAP_MODE}, ["triggerPrice", "limitPrice"]),
        order_request("trailing_stop", {"trail": {"oneOf": [
            {"type": "number", "exclusiveMinimum": True, "minimum": 0, "exclusiveMaximum": True,
             "maximum": 0.5}, NUMBER["oneOf"][1]]}, **EXPIRY}, ["trail"]),
        order_request("bracket", {"takeProfitPrice": PRICE, "stopPrice": PRICE,
                                           **EXPIRY}, ["takeProfitPrice", "stopPrice"]),
        order_request("twap", {
            "slices": {"type": "integer", "minimum": 2, "maximum": 1000},
            "intervalSeconds": {"type": "integer", "minimum": 1, "maximum": 86_400},
            "limitPrice": {**PRICE, "nullable": True,
                           "description": "a slice whose net price is below it is skipped "
                                          "and carried to the next"}, **EXPIRY},
            ["slices", "intervalSeconds"]),
        order_request("sniper", {"maxPrice": {**PRICE, "nullable": True}, **EXPIRY,
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
                  "orderType": {"type": "string", "enum": list(ORDER_TYPES)},
                  "tokenIn": {"type": "string"}, "tokenOut": {"type": "string"},
                  "inputMint": {"type": "string"}, "outputMint": {"type": "string"},
                  "amount": {"type": "string"}, "slippage": {"type": "string"},
                  "limitPrice": {"type": "string", "nullable": True},
                  "maxPrice": {"type": "string", "nullable": True},
                  "triggerPrice": {"type": "string", "nullable": True},
                  "trail": {"type": "string"}, "highWaterMark": {"type": "string"},
                  "triggeredAt": {"type": "string", "description": "the net price that "
                                  "triggered a stop-limit: a limit order since"},
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
                  "attempts": {"type": "integer", "minimum": 0, "description":
                               "the attempt that signed its latest transaction (tries that "
                               "ended before one was signed, at a node that could not be "
                               "reached, say, are numbered too); 0 while none was signed"},
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
                                       "decimals": {"type": "integer", "nullable": True},
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
        "reasons": {"type": "array", "items": {"type": "string"},
                    "description": "why it is degraded: the store refusing orders' writes (a "
                                   "full disk, a database away) or unreadable, the node down, "
                                   "hung or unhealthy (its getHealth), a pool left out of "
                                   "quotes"},
        "cluster": {"type": "object", "properties": {"execution": {
            "type": "string", "enum": ["bytecode", "model", "validator", "unknown"],
            "description": "what runs the cluster's transactions: the programs' own bytecode, "
                           "the simulation's Python model, or a real validator"}}}}},
}

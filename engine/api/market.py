"""Market data routes: aggregator-style quotes and the simulated wallet."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from aiohttp import web

from engine.access.limits import PerMinute
from engine.api import params
from engine.api.app_keys import ENGINE, MARKET
from engine.api.auth import caller_of
from engine.api.errors import ApiError, json_response
from engine.api.orders import decode_body
from engine.api.wire import quote_json
from engine.domain.access import Scope
from engine.domain.base58 import is_public_key
from engine.domain.errors import NoRoute
from engine.domain.parsing import parse_decimal
from engine.domain.request import SwapMode
from engine.domain.routing import RoutePlan
from engine.domain.tokens import TOKENS, Token, format_atoms, lookup
from engine.usecases.trading import Trading

MAX_SLIPPAGE_BPS = 5_000
QUOTE_PARAMETERS = ("inputMint", "outputMint", "amount", "slippageBps", "swapMode", "dexes",
                    "excludeDexes", "onlyDirectRoutes", "restrictIntermediateTokens")
# A launch's price (quote per token) and liquidity (quote tokens); the market also checks the
# pool they make (liquidity / price tokens: non-zero reserves, every amount within a u64).
MIN_LAUNCH_PRICE, MAX_LAUNCH_PRICE = Decimal("1e-9"), Decimal(10_000)
MIN_LIQUIDITY, MAX_LIQUIDITY = Decimal(1), Decimal(10_000_000)
LAUNCHES = web.AppKey("launches", PerMinute)
LAUNCH_FIELDS = {"mint", "venue", "quote", "price", "liquidity", "slot"}


async def quotes(request: web.Request) -> web.Response:
    """GET /api/quotes?inputMint=&outputMint=&amount=&slippageBps=&swapMode= (amount in atoms:
    of the input for ExactIn, the default, of the output for ExactOut), and Jupiter's `dexes`,
    `excludeDexes` and `onlyDirectRoutes`. A parameter it does not take is refused, never
    ignored: a quote that silently left out what was asked would be another quote."""
    query = request.query
    trading = request.app[ENGINE].trading
    unknown = sorted(set(query) - set(QUOTE_PARAMETERS) - {"tokenIn", "tokenOut"})
    if unknown:
        raise ApiError(400, "UNKNOWN_PARAMETER", f"unknown parameter {unknown[0][:64]!r}; this "
                       f"endpoint takes {', '.join(QUOTE_PARAMETERS)}", unknown[0][:64])
    token_in = await _token(trading, query, "inputMint")
    token_out = await _token(trading, query, "outputMint")
    if token_in == token_out:
        raise ApiError(422, "SAME_TOKEN", "inputMint and outputMint must differ", "outputMint")
    amount = params.integer(query, "amount", None, 1, 2**63 - 1)
    bps = params.integer(query, "slippageBps", 50, 1, MAX_SLIPPAGE_BPS)
    try:
        mode = SwapMode(query.get("swapMode", SwapMode.EXACT_IN.value))
    except ValueError:
        raise ApiError(400, "INVALID_PARAMETER", "swapMode must be ExactIn or ExactOut",
                       "swapMode") from None
    venues = _venues(query, trading.venues)
    # Routes go through SOL or USDC only: `restrictIntermediateTokens` holds either way.
    params.flag(query, "restrictIntermediateTokens")
    direct_only = params.flag(query, "onlyDirectRoutes")
    started = time.perf_counter()
    try:
        plan = await trading.quote(token_in.mint, token_out.mint, amount, mode, venues=venues,
                                   direct_only=direct_only)
    except NoRoute as error:  # say what the caller's own limits left out
        on = f"on {', '.join(sorted(venues))} only" if venues else "no venue left"
        asked = ([on] if venues is not None else []) + (
            ["direct pools only"] if direct_only else [])
        if not asked:
            raise
        raise NoRoute(f"{error.message} ({'; '.join(asked)}, as asked)") from None
    return json_response(_jupiter_shape(plan, token_in, token_out, bps,
                                        time.perf_counter() - started))


def _jupiter_shape(plan: RoutePlan, token_in: Token, token_out: Token, bps: int,
                   elapsed: float) -> dict[str, Any]:
    out = plan.amount_out
    # Exact in: the least out after slippage; exact out: the most in (rounded up, as the
    # instruction's maximum must cover the quote).
    threshold = (-(-plan.amount_in * (10_000 + bps) // 10_000) if plan.exact_out
                 else out * (10_000 - bps) // 10_000)
    mode = SwapMode.EXACT_OUT if plan.exact_out else SwapMode.EXACT_IN
    return {
        "inputMint": token_in.mint, "inAmount": str(plan.amount_in),
        "outputMint": token_out.mint, "outAmount": str(out),
        "otherAmountThreshold": str(threshold),
        "swapMode": mode.value, "slippageBps": bps,
        "priceImpactPct": str(plan.price_impact),
        "routePlan": [{"swapInfo": {
            "ammKey": leg.pool, "label": leg.label, "venue": leg.venue,
            "inputMint": leg.mint_in, "outputMint": leg.mint_out, "inAmount": str(leg.amount_in),
            "outAmount": str(leg.amount_out), "feeAmount": str(leg.fee), "feeMint": leg.mint_in},
            "percent": plan.percent(leg)} for leg in plan.legs],
        "reason": plan.reason,
        "alternatives": [quote_json(q) for q in plan.quotes],
        "contextSlot": max(leg.slot for leg in plan.legs),
        "timeTaken": round(elapsed, 6),
    }


async def sim_status(request: web.Request) -> web.Response:
    """GET /api/sim: whether the engine serves the simulated market's controls (--sim-api)."""
    if LAUNCHES not in request.app:
        return json_response({"enabled": False})
    # Whether this caller may launch (admin once keys exist), so a client such as the demo
    # leaves out what it could not do instead of waiting for a launch refused to it.
    return json_response({"enabled": True, "canLaunch": caller_of(request).scope.allows(
        Scope.ADMIN), "launchesPerMinute": request.app[LAUNCHES].limit,
        "problems": request.app[MARKET].problems()})


async def launch(request: web.Request) -> web.Response:
    """POST /api/sim/launch: a new token and its first pool (simulation only)."""
    body = await request.read()
    data = decode_body(body) if body else {}
    if not isinstance(data, dict):
        raise ApiError(400, "INVALID_BODY", "the body must be a JSON object")
    unknown = sorted(set(data) - LAUNCH_FIELDS)
    if unknown:
        raise ApiError(422, "UNKNOWN_FIELD", f"unknown field {unknown[0][:64]!r}", unknown[0][:64])
    venue = data.get("venue")
    if venue not in (None, "raydium", "meteora"):
        raise ApiError(422, "INVALID_VENUE", "venue is raydium or meteora", "venue")
    quote = data.get("quote", "SOL")
    if quote not in ("SOL", "USDC"):
        raise ApiError(422, "INVALID_QUOTE", "quote is SOL or USDC", "quote")
    price = _bounded(data, "price", MIN_LAUNCH_PRICE, MAX_LAUNCH_PRICE)
    liquidity = _bounded(data, "liquidity", MIN_LIQUIDITY, MAX_LIQUIDITY)
    mint = data.get("mint")
    market = request.app[MARKET]
    request.app[LAUNCHES].admit(time.monotonic(), "launches")  # RateLimited: 429
    if mint is not None and (not isinstance(mint, str) or not is_public_key(mint)
                             or market.is_known_mint(mint)):
        raise ApiError(422, "INVALID_MINT", "mint must be a new base58 address", "mint")
    slot = data.get("slot")
    if slot is not None and (not isinstance(slot, int) or isinstance(slot, bool) or slot < 0):
        raise ApiError(422, "INVALID_SLOT", "slot is a non-negative integer", "slot")
    launched = market.launch(mint=mint, venue=venue, quote=quote, price=price,
                            liquidity=liquidity, slot=slot)
    return json_response(launched, status=201)


def _bounded(data: dict[str, Any], name: str, low: Decimal, high: Decimal) -> Decimal | None:
    value = data.get(name)
    if value is None:
        return None
    number = parse_decimal(value, name)
    if not low <= number <= high:
        raise ApiError(422, "INVALID_NUMBER", f"{name} must lie in {low}..{high:f}", name)
    return number


async def tokens(_: web.Request) -> web.Response:
    """GET /api/tokens: the tokens the API knows by symbol, with their mints and decimals, so
    that a client can turn an amount into atoms for /api/quotes."""
    return json_response({"tokens": [{"symbol": t.symbol, "mint": t.mint,
                                      "decimals": t.decimals} for t in TOKENS]})


async def token(request: web.Request) -> web.Response:
    """GET /api/tokens/{mint}: a listed token, or any mint on the cluster, with its decimals."""
    found = await request.app[ENGINE].trading.token(request.match_info["mint"])
    if found is None:
        raise ApiError(404, "UNKNOWN_TOKEN", "neither a listed symbol nor a mint on this cluster",
                       "mint")
    return json_response({"symbol": found.symbol, "mint": found.mint,
                          "decimals": found.decimals})


async def wallet(request: web.Request) -> web.Response:
    """GET /api/wallet: the wallet's address, and every balance, in atoms and in the token's
    units (by its mint's decimals; the symbol where it is listed)."""
    address, held = await request.app[ENGINE].trading.wallet()
    balances = []
    for balance in sorted(held, key=lambda b: b.mint):
        token = lookup(balance.mint)
        # The mint's own decimals, as the chain reports them: an unlisted token (a launch) has
        # an amount too.
        decimals = balance.decimals if balance.decimals is not None else (
            token.decimals if token else None)
        balances.append({"mint": balance.mint, "symbol": token.symbol if token else None,
                         "atoms": str(balance.atoms),
                         "amount": None if decimals is None else format_atoms(balance.atoms,
                                                                              decimals),
                         "decimals": decimals, "tokenAccount": balance.has_account})
    return json_response({"address": address, "balances": balances})


def _venues(query: Any, known: list[str]) -> set[str] | None:
    """The venues `dexes` names (or all), less those `excludeDexes` names; None: all. An
    empty list limits nothing, as with Jupiter."""
    def named(parameter: str) -> set[str]:
        names = {n.strip().lower() for n in query.get(parameter, "").split(",") if n.strip()}
        if names - set(known):
            raise ApiError(400, "INVALID_PARAMETER", f"{parameter} is a comma-separated list "
                           f"of this engine's venues: {', '.join(known)}", parameter)
        return names
    chosen, left_out = named("dexes"), named("excludeDexes")
    if not chosen and not left_out:
        return None
    return (chosen or set(known)) - left_out


async def _token(trading: Trading, query: Any, name: str) -> Token:
    text = query.get(name)
    if not text:
        # An order's names here are the likeliest slip: say which ones this endpoint takes.
        hint = (" (this endpoint takes Jupiter's parameters: inputMint, outputMint, and amount "
                "in atoms)" if {"tokenIn", "tokenOut"} & set(query) else "")
        raise ApiError(400, "MISSING_PARAMETER", f"{name} is required{hint}", name)
    token = await trading.token(text) if len(text) <= 64 else None
    if token is None:
        raise ApiError(422, "UNKNOWN_TOKEN", f"unknown token {text[:64]!r}: neither a listed "
                       "symbol nor a mint on this cluster", name)
    return token

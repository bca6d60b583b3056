"""Turning an untrusted JSON body into a validated OrderRequest, or a precise error."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.domain.base58 import is_public_key
from engine.domain.errors import Refused
from engine.domain.fields import FIELDS, taken_by
from engine.domain.order_types import (
    ORDER_TYPES,
    Bracket,
    Limit,
    Market,
    OrderType,
    Sniper,
    Stop,
    StopLimit,
    TrailingStop,
    Twap,
)
from engine.domain.request import OrderRequest, SwapMode
from engine.domain.schedule import (
    MAX_INTERVAL,
    MAX_SLICES,
    MIN_INTERVAL,
    MIN_SLICES,
    Schedule,
)
from engine.domain.tokens import Token, lookup, unlisted

DEFAULT_SLIPPAGE = Decimal("0.01")
MAX_SLIPPAGE = Decimal("0.5")
MAX_UI_AMOUNT = Decimal(10) ** 12  # more than any token supply we list; catches typos
MAX_ATOMS = 2**63 - 1  # SPL token amounts are u64; SQLite integers are i64
MAX_TTL = timedelta(days=30)
DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,3})?", re.ASCII)
MAX_EXPONENT = 24  # |log10| of any number we accept: beyond it, no derived integer fits a u64
# limitPrice and maxPrice: every price a u64 pool can quote between two tokens of up to
# 9 decimals, with room to spare; outside it a trigger could never be met (or would overflow).
MIN_PRICE, MAX_PRICE = Decimal("1e-15"), Decimal("1e15")
MAX_PRIORITY_FEE = 100_000_000  # µlamports per CU: 140 SOL for a full 1.4M-unit transaction
MAX_TRAIL = Decimal("0.5")


class InvalidOrder(Refused):
    """A request refused for one of its fields, which it names (INVALID_BODY: not an object)."""

    code = "INVALID_ORDER"



def parse_order(body: Any, now: datetime, mints: Mapping[str, Token] | None = None
                ) -> OrderRequest:
    """Validate a decoded JSON body; raise InvalidOrder naming the first bad field. `mints`:
    tokens known besides the listed ones, by address (mints on the cluster, with their
    decimals)."""
    if not isinstance(body, dict):
        raise InvalidOrder("the body must be a JSON object", code="INVALID_BODY")
    name = _order_type(body.get("orderType"))
    unknown = sorted(set(body) - FIELDS[name])
    if unknown:
        raise InvalidOrder(f"unknown field {unknown[0][:64]!r} for a {name} order"
                           f"{taken_by(unknown[0])}",
                           field=unknown[0][:64], code="UNKNOWN_FIELD")
    known = mints or {}
    token_in = _token(body.get("tokenIn"), "tokenIn", known)
    # A sniper waits for a token that has no pool yet: any valid mint address will do.
    token_out = _token(body.get("tokenOut"), "tokenOut", known, ORDER_TYPES[name].snipes)
    if token_in == token_out:
        raise InvalidOrder("tokenIn and tokenOut must differ", field="tokenOut", code="SAME_TOKEN")
    mode = _swap_mode(body.get("swapMode"))
    amount = _amount(body.get("amount"), token_out if mode is SwapMode.EXACT_OUT else token_in)
    slippage = _slippage(body.get("slippage", None))
    order_type = _terms(name, body, amount)
    expires = _expiry(body, now) if order_type.waits else None
    return OrderRequest(order_type, token_in, token_out, amount, slippage, expires, mode,
                        _priority_fee(body.get("priorityFee")))


def _terms(name: str, body: dict[str, Any], amount: int) -> OrderType:
    """The order type `name` with its own fields from the body."""
    match name:
        case "limit":
            return Limit(_price(body, "limitPrice"))
        case "sniper":  # no maxPrice: any price
            return Sniper(None if body.get("maxPrice") is None else _price(body, "maxPrice"))
        case "stop":
            return Stop(_price(body, "triggerPrice"))
        case "trailing_stop":
            return TrailingStop(_trail(body))
        case "bracket":
            take_profit, stop = _price(body, "takeProfitPrice"), _price(body, "stopPrice")
            if not take_profit > stop:
                raise InvalidOrder("takeProfitPrice must be above stopPrice", field="stopPrice",
                                   code="INVALID_BRACKET")
            return Bracket(take_profit, stop)
        case "stop_limit":
            trigger, floor = _price(body, "triggerPrice"), _price(body, "limitPrice")
            if floor > trigger:
                raise InvalidOrder("limitPrice must be at most triggerPrice: a stop-limit sells "
                                   "once the price falls to its trigger, for no less than its "
                                   "limit", field="limitPrice", code="INVALID_STOP_LIMIT")
            return StopLimit(trigger, floor)
        case "twap":
            limit = None if body.get("limitPrice") is None else _price(body, "limitPrice")
            return Twap(_schedule(body, amount, limit))
    return Market()


def _priority_fee(value: Any) -> str | int | None:
    if value is None or (isinstance(value, str) and value in ("auto", "high")):
        return value
    refusal = InvalidOrder(f'priorityFee is "auto", "high", or micro-lamports per compute '
                           f"unit (0..{MAX_PRIORITY_FEE:,})", field="priorityFee",
                           code="INVALID_PRIORITY_FEE")
    if isinstance(value, str) and not value[:1].isdigit():
        raise refusal  # a word other than the two, or a sign
    number = _decimal(value, "priorityFee")
    if number != number.to_integral_value() or not 0 <= number <= MAX_PRIORITY_FEE:
        raise refusal
    return int(number)


def _schedule(body: dict[str, Any], amount: int, limit: Decimal | None) -> Schedule:
    slices = _count(body, "slices", MIN_SLICES, MAX_SLICES)
    interval = _count(body, "intervalSeconds", MIN_INTERVAL, MAX_INTERVAL)
    if amount < slices:
        raise InvalidOrder(f"amount is too small to split into {slices} slices", field="slices",
                           code="INVALID_SLICES")
    return Schedule(slices, interval, limit)


def _count(body: dict[str, Any], name: str, low: int, high: int) -> int:
    if body.get(name) is None:
        raise InvalidOrder(f"{name} is required", field=name, code="MISSING_FIELD")
    number = _decimal(body[name], name)
    if number != number.to_integral_value() or not low <= number <= high:
        code = "INVALID_SLICES" if name == "slices" else "INVALID_INTERVAL"
        raise InvalidOrder(f"{name} must be a whole number in {low}..{high:,}", field=name,
                           code=code)
    return int(number)


def _swap_mode(value: Any) -> SwapMode:
    if value is None:
        return SwapMode.EXACT_IN
    try:
        return SwapMode(str(value) if isinstance(value, str) else "")
    except ValueError:
        raise InvalidOrder("swapMode must be ExactIn (amount is what you pay) or ExactOut "
                           "(amount is what you receive)", field="swapMode",
                           code="INVALID_SWAP_MODE") from None


def _trail(body: dict[str, Any]) -> Decimal:
    if body.get("trail") is None:
        raise InvalidOrder("trail is required", field="trail", code="MISSING_FIELD")
    trail = _decimal(body["trail"], "trail")
    if not 0 < trail < MAX_TRAIL:
        raise InvalidOrder("trail is a fraction in (0, 0.5); 0.02 trails 2 % below the best "
                           "price", field="trail", code="INVALID_TRAIL")
    return trail


def _price(body: dict[str, Any], name: str) -> Decimal:
    if body.get(name) is None:
        raise InvalidOrder(f"{name} is required", field=name, code="MISSING_FIELD")
    price = _decimal(body[name], name)
    if not MIN_PRICE <= price <= MAX_PRICE:
        raise InvalidOrder(f"{name} must be a price from {MIN_PRICE:f} to {MAX_PRICE:,f}",
                           field=name, code="INVALID_PRICE")
    return price


def _expiry(body: dict[str, Any], now: datetime) -> datetime | None:
    if body.get("expiresAt") is not None and body.get("ttlSeconds") is not None:
        raise InvalidOrder("give expiresAt or ttlSeconds, not both", field="ttlSeconds",
                           code="INVALID_EXPIRY")
    if body.get("ttlSeconds") is not None:
        ttl = _decimal(body["ttlSeconds"], "ttlSeconds")
        if not 0 < ttl <= Decimal(MAX_TTL.total_seconds()):
            raise InvalidOrder("ttlSeconds must be in (0, 30 days]", field="ttlSeconds",
                               code="INVALID_EXPIRY")
        return now + timedelta(seconds=float(ttl))
    text = body.get("expiresAt")
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00")) if isinstance(text, str) else None
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise InvalidOrder("expiresAt must be an ISO-8601 time with a zone, e.g. "
                           "2026-12-01T12:00:00Z", field="expiresAt", code="INVALID_EXPIRY")
    if not now < at <= now + MAX_TTL:
        raise InvalidOrder("expiresAt must be in the future, within 30 days",
                           field="expiresAt", code="INVALID_EXPIRY")
    return at


def _order_type(value: Any) -> str:
    if value is None:
        raise InvalidOrder("orderType is required", field="orderType", code="MISSING_FIELD")
    if not isinstance(value, str) or value not in FIELDS:
        raise InvalidOrder(f"orderType must be one of {', '.join(FIELDS)}",
                           field="orderType", code="UNKNOWN_ORDER_TYPE")
    return value


def _token(value: Any, name: str, known: Mapping[str, Token], any_mint: bool = False) -> Token:
    if value is None:
        raise InvalidOrder(f"{name} is required", field=name, code="MISSING_FIELD")
    if not isinstance(value, str):
        raise InvalidOrder(f"{name} must be a token symbol or mint address", field=name,
                           code="INVALID_TYPE")
    token = (lookup(value.strip()) if len(value) <= 64 else None) or known.get(value)
    if token is None and any_mint:
        if not is_public_key(value):
            raise InvalidOrder(f"{value[:64]!r} is not a base58 mint address", field=name,
                               code="INVALID_MINT")
        return unlisted(value)
    if token is None:
        raise InvalidOrder(f"unknown token {value[:64]!r}: neither a listed symbol nor a mint "
                           "on this cluster", field=name, code="UNKNOWN_TOKEN")
    return token


def parse_decimal(value: Any, name: str) -> Decimal:
    """A number from a JSON body, strictly (see `_decimal`); InvalidOrder names the field."""
    return _decimal(value, name)


def _decimal(value: Any, name: str) -> Decimal:
    """Accept a JSON number or a decimal string in ASCII; refuse booleans, NaN, infinities,
    other scripts' digits, `_` separators and magnitudes no price or amount can have."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidOrder(f"{name} must be a number", field=name, code="INVALID_TYPE")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidOrder(f"{name} must be finite", field=name, code="INVALID_NUMBER")
    # str(float) is the shortest round-trip text, so 1.1 stays 1.1, not 1.100000000000000088...
    text = str(value).strip()
    if len(text) > 64 or not DECIMAL.fullmatch(text):
        raise InvalidOrder(f"{name} must be a decimal number in ASCII digits, e.g. 1.5",
                           field=name, code="INVALID_NUMBER")
    number = Decimal(text)
    if number and not -MAX_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
        raise InvalidOrder(f"{name} is out of range", field=name, code="INVALID_NUMBER")
    return number


def _amount(value: Any, token: Token) -> int:
    if value is None:
        raise InvalidOrder("amount is required", field="amount", code="MISSING_FIELD")
    amount = _decimal(value, "amount")
    if amount <= 0:
        raise InvalidOrder("amount must be positive", field="amount", code="INVALID_AMOUNT")
    if amount > MAX_UI_AMOUNT:
        raise InvalidOrder(f"amount must not exceed {MAX_UI_AMOUNT:,f}", field="amount",
                           code="INVALID_AMOUNT")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > token.decimals:
        raise InvalidOrder(f"{token.symbol} has {token.decimals} decimals; amount is more precise",
                           field="amount", code="INVALID_AMOUNT")
    atoms = token.to_atoms(amount)
    if atoms > MAX_ATOMS:
        raise InvalidOrder("amount is too large for a token account", field="amount",
                           code="INVALID_AMOUNT")
    return atoms


def _slippage(value: Any) -> Decimal:
    if value is None:
        return DEFAULT_SLIPPAGE
    slippage = _decimal(value, "slippage")
    if not 0 < slippage <= MAX_SLIPPAGE:
        raise InvalidOrder("slippage is a fraction in (0, 0.5]; 0.01 means 1%",
                           field="slippage", code="INVALID_SLIPPAGE")
    return slippage

"""Turning an untrusted JSON body into a validated OrderRequest, or a precise error."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.domain.errors import PermanentError
from engine.domain.order import OrderRequest, OrderType
from engine.domain.tokens import Token, lookup

DEFAULT_SLIPPAGE = Decimal("0.01")
MAX_SLIPPAGE = Decimal("0.5")
MAX_UI_AMOUNT = Decimal(10) ** 12  # more than any token supply we list; catches typos
MAX_ATOMS = 2**63 - 1  # SPL token amounts are u64; SQLite integers are i64
FIELDS = {"orderType", "tokenIn", "tokenOut", "amount", "slippage"}


class InvalidOrder(PermanentError):
    """A request the API refuses (422 unless stated), naming the offending field."""

    code = "INVALID_ORDER"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None,
                 status: int = 422) -> None:
        super().__init__(message, code=code)
        self.field = field
        self.status = status

    def to_dict(self) -> dict[str, str]:
        out = super().to_dict()
        if self.field:
            out["field"] = self.field
        return out


def parse_order(body: Any) -> OrderRequest:
    """Validate a decoded JSON body; raise InvalidOrder naming the first bad field."""
    if not isinstance(body, dict):
        raise InvalidOrder("the body must be a JSON object", code="INVALID_BODY", status=400)
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise InvalidOrder(f"unknown field {unknown[0]!r}", field=unknown[0], code="UNKNOWN_FIELD")
    order_type = _order_type(body.get("orderType"))
    token_in = _token(body.get("tokenIn"), "tokenIn")
    token_out = _token(body.get("tokenOut"), "tokenOut")
    if token_in == token_out:
        raise InvalidOrder("tokenIn and tokenOut must differ", field="tokenOut", code="SAME_TOKEN")
    amount = _amount(body.get("amount"), token_in)
    slippage = _slippage(body.get("slippage", None))
    return OrderRequest(order_type, token_in, token_out, amount, slippage)


def _order_type(value: Any) -> OrderType:
    if value is None:
        raise InvalidOrder("orderType is required", field="orderType", code="MISSING_FIELD")
    try:
        kind = OrderType(value) if isinstance(value, str) else None
    except ValueError:
        kind = None
    if kind is None:
        raise InvalidOrder("orderType must be one of market, limit, sniper",
                           field="orderType", code="UNKNOWN_ORDER_TYPE")
    if kind is not OrderType.MARKET:
        raise InvalidOrder(f"{kind.value} orders are not supported yet; use market",
                           field="orderType", code="ORDER_TYPE_NOT_SUPPORTED")
    return kind


def _token(value: Any, name: str) -> Token:
    if value is None:
        raise InvalidOrder(f"{name} is required", field=name, code="MISSING_FIELD")
    if not isinstance(value, str):
        raise InvalidOrder(f"{name} must be a token symbol or mint address", field=name,
                           code="INVALID_TYPE")
    token = lookup(value.strip()) if len(value) <= 64 else None
    if token is None:
        raise InvalidOrder(f"unknown token {value[:64]!r}", field=name, code="UNKNOWN_TOKEN")
    return token


def _decimal(value: Any, name: str) -> Decimal:
    """Accept a JSON number or a decimal string; refuse booleans, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidOrder(f"{name} must be a number", field=name, code="INVALID_TYPE")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidOrder(f"{name} must be finite", field=name, code="INVALID_NUMBER")
    try:
        # str(float) is the shortest round-trip text, so 1.1 stays 1.1, not 1.100000000000000088...
        number = Decimal(str(value).strip()) if len(str(value)) <= 64 else Decimal("NaN")
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise InvalidOrder(f"{name} must be a finite decimal number", field=name,
                           code="INVALID_NUMBER")
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

"""An order as the trader asked for it, validated: amounts in atoms, tokens resolved."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from engine.domain.schedule import Schedule
from engine.domain.tokens import Token


class SwapMode(StrEnum):
    """Which side of the swap `amount` fixes, in the aggregators' words."""

    EXACT_IN = "ExactIn"  # spend exactly `amount` of tokenIn; slippage bounds the least out
    EXACT_OUT = "ExactOut"  # receive exactly `amount` of tokenOut; slippage bounds the most in


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    SNIPER = "sniper"
    STOP = "stop"
    TRAILING_STOP = "trailing_stop"
    BRACKET = "bracket"
    TWAP = "twap"


PRICE_FIELDS = {OrderType.LIMIT: "limitPrice", OrderType.SNIPER: "maxPrice",
                OrderType.STOP: "triggerPrice", OrderType.BRACKET: "takeProfitPrice",
                OrderType.TWAP: "limitPrice"}
TAKE_PROFIT, STOP_LOSS = "take_profit", "stop"  # a bracket's legs


@dataclass(frozen=True, slots=True)
class Trigger:
    """When a waiting order may execute, as the net price of its own amount (tokenOut per
    tokenIn, after fees and price impact) moves.

    `price` is what the trader wrote: a limit order's least tokenOut per tokenIn, a sniper's
    most tokenIn per tokenOut (or None: any price), a stop's tokenOut per tokenIn at or below
    which it sells. `min_price` and `stop_price` are those conditions as net prices."""

    price: Decimal | None
    expires_at: datetime | None
    trail: Decimal | None = None  # a trailing stop's distance below its high-water mark
    stop: Decimal | None = None  # a bracket's stop price (its `price` is the take-profit)

    def min_price(self, order_type: OrderType) -> Decimal | None:
        """Fire at this net price or above (limit, sniper)."""
        if self.price is None or order_type is OrderType.STOP:
            return None
        return 1 / self.price if order_type is OrderType.SNIPER else self.price

    def stop_price(self, order_type: OrderType) -> Decimal | None:
        """Fire at this net price or below (stop, a bracket's stop leg)."""
        if order_type is OrderType.BRACKET:
            return self.stop
        return self.price if order_type is OrderType.STOP else None

    def leg(self, order_type: OrderType, price: Decimal) -> str | None:
        """Which leg of a bracket a net price fires: take-profit, stop, or neither."""
        if order_type is not OrderType.BRACKET:
            return None
        if self.price is not None and price >= self.price:
            return TAKE_PROFIT
        return STOP_LOSS if self.stop is not None and price <= self.stop else None

    def met(self, order_type: OrderType, price: Decimal) -> bool:
        """Whether a net price satisfies this trigger (a trailing stop, once fired, sells: its
        trigger moves with the market, so the watcher alone decides when)."""
        if order_type is OrderType.TRAILING_STOP:
            return True
        if order_type is OrderType.BRACKET:
            return self.leg(order_type, price) is not None
        stop = self.stop_price(order_type)
        if stop is not None:
            return price <= stop
        minimum = self.min_price(order_type)
        return minimum is None or price >= minimum


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated order as the trader asked for it; amounts already in atoms."""

    order_type: OrderType
    token_in: Token
    token_out: Token
    amount: int  # atoms of tokenIn (ExactIn) or of tokenOut (ExactOut)
    slippage: Decimal
    trigger: Trigger | None = None  # set for every order that waits
    swap_mode: SwapMode = SwapMode.EXACT_IN
    schedule: Schedule | None = None  # a TWAP's slices and interval
    priority_fee: str | int | None = None  # "auto", "high", µlamports per CU; None: by type

    @property
    def priority(self) -> str | int:
        """What to bid per compute unit: as asked, else "high" for snipers (the launch slot
        is the prize) and "auto" for the rest."""
        if self.priority_fee is not None:
            return self.priority_fee
        return "high" if self.order_type is OrderType.SNIPER else "auto"

    @property
    def exact_out(self) -> bool:
        return self.swap_mode is SwapMode.EXACT_OUT

    @property
    def amount_token(self) -> Token:
        """The token `amount` counts."""
        return self.token_out if self.exact_out else self.token_in

    @property
    def min_price(self) -> Decimal | None:
        return self.trigger.min_price(self.order_type) if self.trigger else None

    @property
    def stop_price(self) -> Decimal | None:
        return self.trigger.stop_price(self.order_type) if self.trigger else None

    def min_out(self, quoted_out: int) -> int:
        """The slippage floor: the least output the trader accepts for a quote."""
        return int(Decimal(quoted_out) * (1 - self.slippage))

    def max_in(self, quoted_in: int) -> int:
        """The exact-out bound: the most input the trader pays for a quote."""
        return math.ceil(Decimal(quoted_in) * (1 + self.slippage))

    def net_price(self, amount_in: int, amount_out: int) -> Decimal:
        """tokenOut per tokenIn, in UI units: what triggers and limits compare."""
        return self.token_out.to_ui(amount_out) / self.token_in.to_ui(amount_in)

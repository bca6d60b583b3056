"""An order as the trader asked for it, validated: amounts in atoms, tokens resolved."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from engine.domain.tokens import Token


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    SNIPER = "sniper"


@dataclass(frozen=True, slots=True)
class Trigger:
    """When a limit or sniper order may execute.

    `price` is what the trader wrote: a limit order's least tokenOut per tokenIn, a sniper's
    most tokenIn per tokenOut (or None: any price). `min_price` is the same condition, net of
    fees and price impact, as tokenOut per tokenIn."""

    price: Decimal | None
    expires_at: datetime | None

    def min_price(self, order_type: OrderType) -> Decimal | None:
        if self.price is None:
            return None
        return self.price if order_type is OrderType.LIMIT else 1 / self.price


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated order as the trader asked for it; amounts already in atoms."""

    order_type: OrderType
    token_in: Token
    token_out: Token
    amount_in: int
    slippage: Decimal
    trigger: Trigger | None = None  # set for limit and sniper orders

    @property
    def min_price(self) -> Decimal | None:
        return self.trigger.min_price(self.order_type) if self.trigger else None

    def min_out(self, quoted_out: int) -> int:
        """The slippage floor: the least output the trader accepts for a quote."""
        return int(Decimal(quoted_out) * (1 - self.slippage))

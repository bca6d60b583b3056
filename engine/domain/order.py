"""Orders and their events. `Order.advance` is the only way an order's status changes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import orjson

from engine.domain.status import OrderStatus, check
from engine.domain.tokens import Token


def iso(at: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, as every timestamp in the API."""
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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

    def to_dict(self, order_type: OrderType) -> dict[str, Any]:
        name = "limitPrice" if order_type is OrderType.LIMIT else "maxPrice"
        out: dict[str, Any] = {name: None if self.price is None else str(self.price)}
        out["expiresAt"] = iso(self.expires_at) if self.expires_at else None
        return out


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


@dataclass(frozen=True, slots=True)
class StatusChanged:
    """One entry of an order's event stream: seq 1, 2, 3... per order."""

    order_id: str
    seq: int
    status: OrderStatus
    at: datetime
    details: Mapping[str, Any] = field(default_factory=dict)
    gseq: int = 0  # position in the feed of all orders' events, assigned when stored
    # The JSON as stored and streamed, once it is stored: serialised once, sent as it is.
    encoded: bytes = field(default=b"", compare=False, repr=False)

    def stored(self, gseq: int) -> StatusChanged:
        """This event at its place in the feed, with the JSON that the store and streams share."""
        body = orjson.dumps({**self.to_dict(), "gseq": gseq})
        return StatusChanged(self.order_id, self.seq, self.status, self.at, self.details, gseq,
                             body)

    def to_dict(self) -> dict[str, Any]:
        return {
            "orderId": self.order_id,
            "seq": self.seq,
            "gseq": self.gseq,
            "status": self.status.value,
            "at": iso(self.at),
            **self.details,
        }

    def to_json(self) -> bytes:
        return self.encoded or orjson.dumps(self.to_dict())


@dataclass(frozen=True, slots=True)
class Order:
    """The current state of one order. Immutable: `advance` returns the next state."""

    id: str
    request: OrderRequest
    status: OrderStatus
    seq: int
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    # What the steps learned, kept so that a restarted engine can resume from any step.
    route: Mapping[str, Any] | None = None
    tx: Mapping[str, Any] | None = None
    fill: Mapping[str, Any] | None = None
    error: Mapping[str, str] | None = None

    @classmethod
    def accept(cls, order_id: str, request: OrderRequest, at: datetime) -> tuple[Order, StatusChanged]:
        order = cls(order_id, request, OrderStatus.PENDING, 1, at, at)
        return order, StatusChanged(order_id, 1, OrderStatus.PENDING, at, order.summary())

    def advance(
        self, to: OrderStatus, at: datetime, details: Mapping[str, Any], **changes: Any
    ) -> tuple[Order, StatusChanged]:
        """Move to `to` if the transition table allows it; return the new order and its event."""
        check(self.status, to)
        seq = self.seq + 1
        order = replace(self, status=to, seq=seq, updated_at=at, **changes)
        return order, StatusChanged(self.id, seq, to, at, details)

    def summary(self) -> dict[str, Any]:
        """What the first event and the API say about the request itself."""
        r = self.request
        out = {
            "orderType": r.order_type.value,
            "tokenIn": r.token_in.symbol,
            "tokenOut": r.token_out.symbol,
            "inputMint": r.token_in.mint,
            "outputMint": r.token_out.mint,
            "amount": r.token_in.format(r.amount_in),
            "slippage": str(r.slippage),
        }
        if r.trigger is not None:
            out |= r.trigger.to_dict(r.order_type)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "orderId": self.id,
            "status": self.status.value,
            **self.summary(),
            "attempts": self.attempts,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "route": self.route,
            "txHash": self.tx["signature"] if self.tx else None,
            "fill": self.fill,
            "error": self.error,
        }

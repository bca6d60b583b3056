"""A sniper: buys a token the moment a pool for it opens, at most `max_price` tokenIn per
tokenOut (None: at any price). It may name any mint, jumps the queue and bids high, since the
launch slot is the prize, and its fill says how many slots after the opening it landed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from engine.domain.order_types.base import (
    OrderType,
    Record,
    Watch,
    decimal_or_none,
    text_or_none,
)


@dataclass(frozen=True, slots=True)
class Sniper(OrderType):
    name: ClassVar[str] = "sniper"
    snipes: ClassVar[bool] = True
    max_price: Decimal | None  # tokenIn per tokenOut, as buyers write it

    @property
    def least(self) -> Decimal:
        """The same bound as a net price (tokenOut per tokenIn): its inverse."""
        return Decimal(0) if self.max_price is None else 1 / self.max_price

    def armed(self) -> str:
        if self.max_price is None:
            return "armed: waiting for a pool to open"
        return f"armed: waiting for a pool to open at {self.max_price} or less a token"

    def watch(self, mark: Decimal | None) -> Watch:
        return Watch(rises_to=self.least)

    def met(self, price: Decimal, mark: Decimal | None) -> bool:
        return price >= self.least

    def record(self) -> Record:
        return {"max_price": text_or_none(self.max_price)}

    @classmethod
    def from_record(cls, record: Record) -> Sniper:
        return cls(decimal_or_none(record.get("max_price")))

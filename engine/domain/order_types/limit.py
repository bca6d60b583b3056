"""A limit order: waits until its own amount fetches at least `price` tokenOut per tokenIn."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from engine.domain.order_types.base import OrderType, Record, Watch


@dataclass(frozen=True, slots=True)
class Limit(OrderType):
    name: ClassVar[str] = "limit"
    price: Decimal  # the least net price it accepts

    def armed(self) -> str:
        return f"armed: waiting for the net price to rise to {self.price}"

    def watch(self, mark: Decimal | None) -> Watch:
        return Watch(rises_to=self.price)

    def met(self, price: Decimal, mark: Decimal | None) -> bool:
        return price >= self.price

    def record(self) -> Record:
        return {"price": str(self.price)}

    @classmethod
    def from_record(cls, record: Record) -> Limit:
        return cls(Decimal(record["price"]))

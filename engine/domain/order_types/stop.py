"""A stop: sells once the net price of its amount falls to `price` (a stop-loss)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from engine.domain.order_types.base import OrderType, Record, Watch


@dataclass(frozen=True, slots=True)
class Stop(OrderType):
    name: ClassVar[str] = "stop"
    price: Decimal  # sells at or below this net price

    def armed(self) -> str:
        return f"armed: waiting for the net price to fall to {self.price}"

    def watch(self, mark: Decimal | None) -> Watch:
        return Watch(falls_to=self.price)

    def met(self, price: Decimal, mark: Decimal | None) -> bool:
        return price <= self.price

    def record(self) -> Record:
        return {"price": str(self.price)}

    @classmethod
    def from_record(cls, record: Record) -> Stop:
        return cls(Decimal(record["price"]))

"""A trailing stop: its mark is the best net price seen since it was armed, and it sells once
the price falls `trail` (a fraction) below that mark. The trigger follows the market up, never
down."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from engine.domain.order_types.base import OrderType, Record, Watch


@dataclass(frozen=True, slots=True)
class TrailingStop(OrderType):
    name: ClassVar[str] = "trailing_stop"
    trail: Decimal  # in (0, 0.5): 0.02 sells 2 % below the best price

    def armed(self) -> str:
        return f"armed: sells once the net price falls {self.trail:%} below its best since now"

    def trigger(self, mark: Decimal) -> Decimal:
        """The net price at or below which it sells, for a mark."""
        return mark * (1 - self.trail)

    def watch(self, mark: Decimal | None) -> Watch:
        return Watch(falls_to=None if mark is None else self.trigger(mark), follows=True)

    def moved(self, price: Decimal, mark: Decimal | None) -> Decimal | None:
        return price if mark is None or price > mark else None

    def met(self, price: Decimal, mark: Decimal | None) -> bool:
        return mark is not None and price <= self.trigger(mark)

    def record(self) -> Record:
        return {"trail": str(self.trail)}

    @classmethod
    def from_record(cls, record: Record) -> TrailingStop:
        return cls(Decimal(record["trail"]))

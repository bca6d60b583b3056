"""A TWAP: the amount sold in equal slices on a schedule (`domain.schedule`), each slice a
market order of its own."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from engine.domain.order_types.base import OrderType, Record, decimal_or_none, text_or_none
from engine.domain.schedule import Schedule


@dataclass(frozen=True, slots=True)
class Twap(OrderType):
    name: ClassVar[str] = "twap"
    schedule: Schedule  # the base's read-only None, made a field

    def armed(self) -> str:
        return (f"scheduled: {self.schedule.slices} slices, one every {self.schedule.interval} s "
                "from now")

    def met(self, price: Decimal, mark: Decimal | None) -> bool:
        """Whether a slice may be sent at this net price."""
        return self.schedule.allows(price)

    def record(self) -> Record:
        return {"slices": self.schedule.slices, "interval": self.schedule.interval,
                "limit": text_or_none(self.schedule.limit)}

    @classmethod
    def from_record(cls, record: Record) -> Twap:
        return cls(Schedule(int(record["slices"]), int(record["interval"]),
                            decimal_or_none(record.get("limit"))))

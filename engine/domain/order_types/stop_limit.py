"""A stop-limit: once the net price falls to `trigger`, it becomes a limit order at `limit`
(sell, but for no less than `limit`). Unlike a stop, it never sells into a gap below its
limit: it waits for the price to come back up to it, or for its expiry.

Its mark is the net price that triggered it: None while it waits for the trigger, and kept
(an event, a column) once set, so that a restart finds it a limit order still."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from engine.domain.order_types.base import OrderType, Record, Watch


@dataclass(frozen=True, slots=True)
class StopLimit(OrderType):
    name: ClassVar[str] = "stop_limit"
    trigger: Decimal  # the net price that turns it into a limit order
    limit: Decimal  # then, the least net price it sells at (at most `trigger`)

    def armed(self) -> str:
        return f"armed: waiting for the net price to fall to {self.trigger}"

    def watch(self, mark: Decimal | None) -> Watch:
        return Watch(falls_to=self.trigger) if mark is None else Watch(rises_to=self.limit)

    def moved(self, price: Decimal, mark: Decimal | None) -> Decimal | None:
        return price if mark is None and price <= self.trigger else None

    def met(self, price: Decimal, mark: Decimal | None) -> bool:
        return mark is not None and price >= self.limit

    def record(self) -> Record:
        return {"trigger": str(self.trigger), "limit": str(self.limit)}

    @classmethod
    def from_record(cls, record: Record) -> StopLimit:
        return cls(Decimal(record["trigger"]), Decimal(record["limit"]))

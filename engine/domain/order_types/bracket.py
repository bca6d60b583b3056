"""A bracket: one amount, two exits. It takes profit once the net price rises to
`take_profit`, or stops the loss once it falls to `stop`, whichever comes first."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from engine.domain.order_types.base import OrderType, Record, Watch

TAKE_PROFIT, STOP_LOSS = "take_profit", "stop"  # its legs, as its `routing` event names them


@dataclass(frozen=True, slots=True)
class Bracket(OrderType):
    name: ClassVar[str] = "bracket"
    take_profit: Decimal
    stop: Decimal  # below take_profit

    def armed(self) -> str:
        return (f"armed: waiting for the net price to rise to {self.take_profit} or fall to "
                f"{self.stop}")

    def watch(self, mark: Decimal | None) -> Watch:
        return Watch(rises_to=self.take_profit, falls_to=self.stop)

    def leg(self, price: Decimal) -> str | None:
        if price >= self.take_profit:
            return TAKE_PROFIT
        return STOP_LOSS if price <= self.stop else None

    def met(self, price: Decimal, mark: Decimal | None) -> bool:
        return self.leg(price) is not None

    def record(self) -> Record:
        return {"take_profit": str(self.take_profit), "stop": str(self.stop)}

    @classmethod
    def from_record(cls, record: Record) -> Bracket:
        return cls(Decimal(record["take_profit"]), Decimal(record["stop"]))

"""A market order: executes at once at the best net price, within its slippage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from engine.domain.order_types.base import OrderType, Record


@dataclass(frozen=True, slots=True)
class Market(OrderType):
    name: ClassVar[str] = "market"
    waits: ClassVar[bool] = False

    @classmethod
    def from_record(cls, record: Record) -> Market:
        return cls()

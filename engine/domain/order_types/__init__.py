"""Every order type, each a small frozen type owning its rules (see `base.OrderType`).

Adding one is a module here, its line below, and its fields where requests are parsed and
responses rendered (`domain.requests`, the API's description, the CLI, the dashboard form)."""

from __future__ import annotations

from engine.domain.order_types.base import OrderType, Record, Watch
from engine.domain.order_types.bracket import STOP_LOSS, TAKE_PROFIT, Bracket
from engine.domain.order_types.limit import Limit
from engine.domain.order_types.market import Market
from engine.domain.order_types.sniper import Sniper
from engine.domain.order_types.stop import Stop
from engine.domain.order_types.stop_limit import StopLimit
from engine.domain.order_types.trailing_stop import TrailingStop
from engine.domain.order_types.twap import Twap

ORDER_TYPES: dict[str, type[OrderType]] = {
    t.name: t for t in (Market, Limit, Sniper, Stop, TrailingStop, Bracket, Twap, StopLimit)}


def order_type_of(name: str, record: Record) -> OrderType:
    """An order type from its name and its stored terms."""
    return ORDER_TYPES[name].from_record(record)


__all__ = ["ORDER_TYPES", "STOP_LOSS", "TAKE_PROFIT", "Bracket", "Limit", "Market", "OrderType",
           "Record", "Sniper", "Stop", "StopLimit", "TrailingStop", "Twap", "Watch", "order_type_of"]

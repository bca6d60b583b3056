"""Pre-trade risk controls: a trading state, and limits checked before anything is stored."""

from __future__ import annotations

from enum import StrEnum

from engine.domain.errors import Refused


class TradingState(StrEnum):
    ACTIVE = "active"
    HALTED = "halted"  # new orders refused, waiting triggers held; executing orders finish


class TradingHalted(Refused):
    code = "TRADING_HALTED"


class NotionalTooLarge(Refused):
    code = "NOTIONAL_TOO_LARGE"


class TooManyOpenOrders(Refused):
    code = "TOO_MANY_OPEN_ORDERS"

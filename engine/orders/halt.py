"""Whether trading is halted: set by the risk controls, read by what would trade."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TradingSwitch:
    """One switch, made before the parts that read it: the price watcher holds every trigger
    while it is on, the TWAP scheduler skips the slices that fall due; orders already
    executing finish either way."""

    halted: bool = False

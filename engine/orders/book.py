"""The waiting orders of one pair, where a price update finds those it may fire.

An order waiting for the price to rise to a level sits in a list sorted by that level, one
waiting for a fall in another, so that an update only looks at the end of each it reaches; a
bracket waits in both. Orders whose trigger follows the market (trailing stops) are kept apart,
with bounds over their marks and triggers that let an update skip them all in one comparison.
Where an order waits is its type's to say (`OrderType.watch`).
"""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass, field
from decimal import Decimal

from engine.domain.order import Order
from engine.domain.tokens import Token

Pair = tuple[str, str]  # (mint in, mint out)
Entry = tuple[Decimal, str]  # (the level waited for, the order's id)


@dataclass
class Book:
    """The waiting orders of one pair: those waiting for a rise and for a fall, each sorted by
    its level, and those whose trigger follows the market."""

    token_in: Token
    token_out: Token
    rises: list[Entry] = field(default_factory=list)  # by the level they wait for
    falls: list[Entry] = field(default_factory=list)  # likewise
    trailing: dict[str, Decimal | None] = field(default_factory=dict)  # id -> its mark
    # Bounds over the trailing stops, from their last full look: while the price stays at or
    # below every mark and above every trigger, nothing can move or fire (None: look again).
    lowest_mark: Decimal | None = None
    highest_trigger: Decimal = Decimal(0)
    kept: dict[str, Decimal] = field(default_factory=dict)  # the marks the store holds
    # No order here is smaller (kept as orders leave): the marginal price is quoted for this
    # much at most, so that it bounds every order's own price and is not rounded to nothing.
    smallest: int = 10**30
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    unpriced: bool = False  # the last look could ask no venue (the node away): look again
    task: asyncio.Task[None] | None = None  # the pair's watching task

    @property
    def waiting(self) -> bool:
        return bool(self.rises or self.falls or self.trailing)

    def place(self, order: Order) -> None:
        if order.request.order_type.watch(order.mark).follows:
            self.trailing[order.id] = order.mark
            if order.mark is not None:
                self.kept[order.id] = order.mark
            self.lowest_mark = None
        else:
            for line, entry in self._places(order):
                bisect.insort(line, entry)

    def unplace(self, order: Order) -> None:
        self.kept.pop(order.id, None)
        if self.trailing.pop(order.id, False) is False:
            for line, entry in self._places(order):
                line.remove(entry)

    def reached(self, price: Decimal, low: Decimal) -> list[str]:
        """The orders waiting for a rise to `price` or less, and for a fall to `low` or more:
        the candidates, each to be checked at its own amount (a bracket once)."""
        return list(dict.fromkeys(oid for _, oid in (
            *self.rises[:bisect.bisect_right(self.rises, (price, "\uffff"))],
            *self.falls[bisect.bisect_left(self.falls, (low, "")):])))

    def _places(self, order: Order) -> list[tuple[list[Entry], Entry]]:
        """The sorted lists an order waits in (a bracket waits in both), and its entry there."""
        watch = order.request.order_type.watch(order.mark)
        places: list[tuple[list[Entry], Entry]] = []
        if watch.falls_to is not None:
            places.append((self.falls, (watch.falls_to, order.id)))
        if watch.rises_to is not None:
            places.append((self.rises, (watch.rises_to, order.id)))
        return places

"""What every order type answers: whether and how it waits, when a net price meets it, how its
trigger moves, which leg fires, and its stored record.

A net price is tokenOut per tokenIn in UI units, after fees and price impact, for the order's
own amount: the one number every trigger compares. A `mark` is what a waiting order has seen
that moves its trigger (a trailing stop's best price, the price that triggered a stop-limit);
None until it has seen one. Types are frozen values: moving returns a mark, never a new type.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Self

from engine.domain.schedule import Schedule

Record = dict[str, Any]  # an order type's terms as stored: JSON-ready, exact (decimals as text)


@dataclass(frozen=True, slots=True)
class Watch:
    """Where a waiting order sits in the price watcher's book, given its mark: it is looked at
    once the net price rises to `rises_to` or falls to `falls_to` (a bracket waits for both).
    A `follows` order moves its trigger with every price (a trailing stop): the watcher tracks
    its mark, and `falls_to` is the trigger that mark implies."""

    rises_to: Decimal | None = None
    falls_to: Decimal | None = None
    follows: bool = False


class OrderType:
    """The base of every order type: a market order's answers unless a type says otherwise."""

    __slots__ = ()
    name: ClassVar[str]
    waits: ClassVar[bool] = True  # parked in `waiting` until its price (or schedule) says go
    snipes: ClassVar[bool] = False  # any mint out, first in the queue, bids high, counts slots

    @property
    def schedule(self) -> Schedule | None:
        """A TWAP's slices and interval; None for an order that executes at once."""
        return None

    def armed(self) -> str:
        """Why it waits, in the words of its `armed` event."""
        return "armed: waiting for the price"

    def watch(self, mark: Decimal | None) -> Watch:
        """Where the price watcher keeps it (only the types it watches answer)."""
        raise TypeError(f"a {self.name} order is not watched for its price")

    def met(self, price: Decimal, mark: Decimal | None) -> bool:
        """Whether this net price lets it execute now (after `moved` has moved its mark)."""
        return True

    def moved(self, price: Decimal, mark: Decimal | None) -> Decimal | None:
        """The mark this net price gives it, or None when its mark stays where it is."""
        return None

    def leg(self, price: Decimal) -> str | None:
        """Which of its legs a net price fires (a bracket's); None for single-leg types."""
        return None

    def record(self) -> Record:
        """Its own terms, as the store keeps them."""
        return {}

    @classmethod
    def from_record(cls, record: Record) -> Self:
        raise NotImplementedError


def decimal_or_none(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def text_or_none(value: Decimal | None) -> str | None:
    return None if value is None else str(value)

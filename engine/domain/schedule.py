"""A TWAP order's schedule and how far it has got: pure bookkeeping, no clock and no I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

MIN_SLICES, MAX_SLICES = 2, 1_000
MIN_INTERVAL, MAX_INTERVAL = 1, 86_400  # seconds


@dataclass(frozen=True, slots=True)
class Schedule:
    """Sell the amount in `slices` equal parts (the remainder in the last), one every
    `interval` seconds from the moment the order is armed; with a `limit`, a slice whose net
    price is below it is skipped and its amount carried to the next."""

    slices: int
    interval: int
    limit: Decimal | None = None

    def allows(self, price: Decimal) -> bool:
        """Whether a slice may be sent at this net price."""
        return self.limit is None or price >= self.limit

    def share(self, total: int, index: int) -> int:
        """Slice `index`'s own part of `total` (0-based), before any carried amount."""
        base = total // self.slices
        return total - base * (self.slices - 1) if index == self.slices - 1 else base


@dataclass(frozen=True, slots=True)
class Progress:
    """What a TWAP parent has done. `carried` is input not yet sold (slices skipped for their
    price, or whose child failed): the next slice adds it to its own share."""

    next_slice: int = 0
    carried: int = 0
    filled_in: int = 0
    filled_out: int = 0
    open: str | None = None  # the child order of the slice in flight
    open_amount: int = 0
    children: tuple[str, ...] = ()

    def sent(self, index: int, child: str, amount: int) -> Progress:
        return replace(self, next_slice=index + 1, carried=0, open=child, open_amount=amount,
                       children=(*self.children, child))

    def skipped(self, index: int, share: int) -> Progress:
        return replace(self, next_slice=index + 1, carried=self.carried + share)

    def done(self, amount_in: int, amount_out: int) -> Progress:
        """The open slice ended: what it did not sell is carried to the next one."""
        return replace(self, filled_in=self.filled_in + amount_in,
                       filled_out=self.filled_out + amount_out, open=None, open_amount=0,
                       carried=self.carried + self.open_amount - amount_in)

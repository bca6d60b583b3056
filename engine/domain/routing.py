"""Quotes from venues and the choice of the plan that pays the trader the most."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.domain.errors import NoRoute


@dataclass(frozen=True, slots=True)
class Quote:
    """What one venue would pay for `amount_in`, net of its fee (atoms)."""

    venue: str
    pool: str
    mint_in: str
    mint_out: str
    amount_in: int
    amount_out: int
    fee: int  # in atoms of the input token
    price_impact: Decimal = Decimal(0)
    ref: str = ""  # the venue's handle on this quote, handed back when swapping (as Jupiter's)

    def to_dict(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "pool": self.pool,
            "inAmount": str(self.amount_in),
            "outAmount": str(self.amount_out),
            "feeAmount": str(self.fee),
            "priceImpactPct": str(self.price_impact),
            "ref": self.ref,
        }


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """The chosen legs (one per venue used) and why they won."""

    legs: tuple[Quote, ...]
    quotes: tuple[Quote, ...]
    reason: str

    @property
    def amount_out(self) -> int:
        return sum(leg.amount_out for leg in self.legs)

    @property
    def venue(self) -> str:
        return "+".join(leg.venue for leg in self.legs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "venue": self.venue,
            "reason": self.reason,
            "outAmount": str(self.amount_out),
            "legs": [leg.to_dict() for leg in self.legs],
            "quotes": [q.to_dict() for q in self.quotes],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], mint_in: str, mint_out: str) -> RoutePlan:
        def quote(d: dict[str, Any]) -> Quote:
            return Quote(d["venue"], d["pool"], mint_in, mint_out, int(d["inAmount"]),
                         int(d["outAmount"]), int(d["feeAmount"]), Decimal(d["priceImpactPct"]),
                         d.get("ref", ""))

        return cls(tuple(map(quote, data["legs"])), tuple(map(quote, data["quotes"])),
                   data["reason"])


def choose(quotes: Sequence[Quote]) -> RoutePlan:
    """Pick the quote with the most output after fees; say by how much it beat the runner-up."""
    if not quotes:
        raise NoRoute("no venue can fill this pair and amount")
    ranked = sorted(quotes, key=lambda q: (-q.amount_out, q.venue))
    best = ranked[0]
    if len(ranked) == 1:
        reason = f"{best.venue} is the only venue quoting this pair"
    else:
        runner = ranked[1]
        margin = Decimal(best.amount_out - runner.amount_out) / max(runner.amount_out, 1) * 100
        reason = f"{best.venue} pays {margin:.4f}% more than {runner.venue}"
    return RoutePlan((best,), tuple(quotes), reason)

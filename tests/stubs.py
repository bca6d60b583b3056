"""Small factories of domain values for tests: an order, and one typed change per status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from engine.domain.events import (
    Accepted,
    Armed,
    Cancelled,
    Change,
    Expired,
    Failed,
    Failure,
    Fill,
    Filled,
    PartiallyFilled,
    Routed,
    Sent,
    Signed,
)
from engine.domain.order import Order, OrderRequest
from engine.domain.order_types import Market
from engine.domain.routing import Quote, RoutePlan
from engine.domain.status import OrderStatus
from engine.domain.tokens import Token, lookup
from engine.domain.transactions import SignedTransaction

AT = datetime(2026, 1, 1, tzinfo=UTC)


def token(symbol: str) -> Token:
    found = lookup(symbol)
    assert found is not None
    return found


def request(amount: int = 10**9) -> OrderRequest:
    return OrderRequest(Market(), token("SOL"), token("USDC"), amount, Decimal("0.01"))


def new_order(order_id: str = "o-1", amount: int = 10**9) -> Order:
    return Order.accept(order_id, request(amount), AT)[0]


def plan(venue: str = "raydium") -> RoutePlan:
    quote = Quote(venue, "ray-sol-usdc", token("SOL").mint, token("USDC").mint, 10**9,
                  149_620_025, 2_500_000, Decimal("0.1"), "Raydium CPMM", 7)
    return RoutePlan((quote,), (quote,), f"{venue} is the only venue that can fill this")


def change_to(status: OrderStatus) -> Change:
    """A representative change that leads to `status`."""
    tx = SignedTransaction("sig", 150, "{}")
    return {
        OrderStatus.PENDING: Accepted(request()),
        OrderStatus.WAITING: Armed("armed"),
        OrderStatus.ROUTING: Routed(plan(), Decimal("149.62")),
        OrderStatus.BUILDING: Signed(1, tx),
        OrderStatus.SUBMITTED: Sent(1),
        OrderStatus.CONFIRMED: Filled(Fill("sig", 9, "raydium", 10**9, 149_000_000, 5_000, 0,
                                           "confirmed")),
        OrderStatus.FAILED: Failed(Failure("NO_ROUTE", "no venue")),
        OrderStatus.EXPIRED: Expired("expired"),
        OrderStatus.CANCELLED: Cancelled("cancelled by the trader"),
        OrderStatus.PARTIALLY_FILLED: PartiallyFilled("the schedule ended with 0.5 SOL unsold"),
    }[status]


SOL, USDC = token("SOL").mint, token("USDC").mint


@dataclass
class OnePool:
    """A venue with one SOL/USDC pool paying `usdc_per_sol`, with no fee and no impact."""

    usdc_per_sol: Decimal
    name: str = "raydium"
    asked: int = 0  # quotes given: the watcher has looked at the price
    quote_faults: list[Exception] = field(default_factory=list)  # raised by the next quotes

    def has_pair(self, mint_in: str, mint_out: str) -> bool:
        return {mint_in, mint_out} == {SOL, USDC}

    def problems(self) -> list[str]:
        return []

    async def quote(self, mint_in: str, mint_out: str, amount_in: int) -> Quote | None:
        if self.quote_faults:
            raise self.quote_faults.pop(0)
        self.asked += 1
        rate = (self.usdc_per_sol / 1000 if mint_in == SOL
                else 1000 / self.usdc_per_sol)  # atoms: 9 decimals against 6
        return Quote(self.name, "pool", mint_in, mint_out, amount_in, int(amount_in * rate), 0)

    async def quote_exact_out(self, mint_in: str, mint_out: str,
                              amount_out: int) -> Quote | None:
        return None

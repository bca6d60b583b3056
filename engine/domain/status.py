"""The order status machine: the one table that says which status may follow which."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING = "pending"
    WAITING = "waiting"
    ROUTING = "routing"
    BUILDING = "building"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    PARTIALLY_FILLED = "partially_filled"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


S = OrderStatus

# submitted -> building is the next attempt after a transient failure, and submitted -> routing
# the next one on a fresh route (a two-hop route whose first swap slipped); failed is reachable
# from every live state because a permanent error can surface at any step. Limit and sniper
# orders wait for their price (or their pool) in `waiting`: waiting -> waiting is a price update,
# and routing/submitted -> waiting re-arms one whose price slipped away before it filled.
# A TWAP parent never routes itself: it waits while its children (market orders) execute, and
# ends from waiting, confirmed when every slice sold, partially_filled when some did not.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING: frozenset({S.ROUTING, S.WAITING, S.FAILED, S.CANCELLED}),
    S.WAITING: frozenset({S.WAITING, S.ROUTING, S.FAILED, S.EXPIRED, S.CANCELLED,
                          S.CONFIRMED, S.PARTIALLY_FILLED}),
    S.ROUTING: frozenset({S.BUILDING, S.WAITING, S.FAILED}),
    S.BUILDING: frozenset({S.SUBMITTED, S.FAILED}),
    S.SUBMITTED: frozenset({S.CONFIRMED, S.FAILED, S.BUILDING, S.ROUTING, S.WAITING}),
    S.CONFIRMED: frozenset(),
    S.PARTIALLY_FILLED: frozenset(),
    S.FAILED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
}

TERMINAL = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)


class IllegalTransition(Exception):
    """Raised when a status change is not in TRANSITIONS."""

    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        super().__init__(f"{current.value} -> {target.value}")
        self.current = current
        self.target = target


def check(current: OrderStatus, target: OrderStatus) -> None:
    """Raise IllegalTransition unless `current -> target` is in the table."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(current, target)

"""Orders as the trader asked for them and as they stand. `Order.apply` is the only way an
order changes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.domain.events import (
    Accepted,
    Change,
    Failed,
    Failure,
    Fill,
    Filled,
    OrderEvent,
    PriceUpdated,
    Routed,
    Signed,
    SliceDone,
    SliceSent,
    SliceSkipped,
    TriggerMoved,
)
from engine.domain.order_types import OrderType
from engine.domain.request import OrderRequest
from engine.domain.routing import RoutePlan
from engine.domain.schedule import Progress
from engine.domain.status import IllegalTransition, OrderStatus, check
from engine.domain.transactions import SignedTransaction

__all__ = ["Order", "OrderRequest", "OrderType"]


@dataclass(frozen=True, slots=True)
class Order:
    """The current state of one order. Immutable: `apply` returns the next state."""

    id: str
    request: OrderRequest
    status: OrderStatus
    seq: int
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    # What the steps learned, kept so that a restarted engine can resume from any step.
    route: RoutePlan | None = None
    tx: SignedTransaction | None = None
    fill: Fill | None = None
    error: Failure | None = None
    owner: str | None = None  # the name of the API key that placed it; None: placed without one
    # What it has seen that moves its trigger (see `OrderType.moved`): a trailing stop's best
    # net price since it was armed, the net price that triggered a stop-limit.
    mark: Decimal | None = None
    progress: Progress | None = None  # a TWAP parent's slices so far
    parent: str | None = None  # a TWAP slice's parent order

    @classmethod
    def accept(cls, order_id: str, request: OrderRequest, at: datetime,
               owner: str | None = None, parent: str | None = None) -> tuple[Order, OrderEvent]:
        progress = Progress() if request.schedule is not None else None
        order = cls(order_id, request, OrderStatus.PENDING, 1, at, at, owner=owner,
                    progress=progress, parent=parent)
        return order, OrderEvent(order_id, 1, at, Accepted(request))

    def apply(self, change: Change, at: datetime, *,
              resumed: bool = False) -> tuple[Order, OrderEvent]:
        """The only way an order changes: `change` if the transition table allows it now.

        Returns the new order and its event; the old order is left as it was."""
        if isinstance(change, PriceUpdated | TriggerMoved):
            if self.status is not OrderStatus.WAITING:  # a price tick moves no status
                raise IllegalTransition(self.status, OrderStatus.WAITING)
        else:
            check(self.status, change.status)
        seq = self.seq + 1
        learned: dict[str, Any] = {}
        match change:
            case Routed(plan=plan):
                learned = {"route": plan}
            case Signed(attempt=attempt, tx=tx):
                learned = {"attempts": attempt, "tx": tx}
            case Filled(fill=fill):
                learned = {"fill": fill}
            case Failed(error=error):
                learned = {"error": error}
            case TriggerMoved(mark=mark):
                learned = {"mark": mark}
            case SliceSent() | SliceDone() | SliceSkipped():
                learned = {"progress": self._progressed(change)}
        order = replace(self, status=change.status, seq=seq, updated_at=at, **learned)
        return order, OrderEvent(self.id, seq, at, change, resumed)

    def _progressed(self, change: SliceSent | SliceDone | SliceSkipped) -> Progress:
        schedule, progress = self.request.schedule, self.progress
        if schedule is None or progress is None:
            raise IllegalTransition(self.status, change.status)  # not a TWAP parent
        match change:
            case SliceSent(index=index, child=child, amount=amount):
                return progress.sent(index, child, amount)
            case SliceDone(amount_in=amount_in, amount_out=amount_out):
                return progress.done(amount_in, amount_out)
            case SliceSkipped(index=index):
                return progress.skipped(index, schedule.share(self.request.amount, index))

"""What can happen to an order: one small frozen type per event, applied by `Order.apply`.

Each type names the status it leads to; the transition table (`status.py`) decides whether it
may happen now. A price update is not a status change: the order stays `waiting`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from engine.domain.errors import EngineError
from engine.domain.request import OrderRequest
from engine.domain.routing import RoutePlan
from engine.domain.status import OrderStatus
from engine.domain.transactions import SignedTransaction


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an attempt or an order failed: a stable code and a message for people."""

    code: str
    message: str

    @classmethod
    def of(cls, error: EngineError) -> Failure:
        return cls(error.code, error.message)


@dataclass(frozen=True, slots=True)
class Fill:
    """What the chain executed for a confirmed order, from its own record (atoms, lamports)."""

    signature: str
    slot: int
    venue: str
    amount_in: int
    amount_out: int
    fee_lamports: int
    rent_lamports: int
    commitment: str
    pool_opened_slot: int | None = None  # snipers: when the pool they waited for opened


@dataclass(frozen=True, slots=True)
class Accepted:
    status: ClassVar[OrderStatus] = OrderStatus.PENDING
    request: OrderRequest


@dataclass(frozen=True, slots=True)
class Armed:
    """Waiting for the price (first armed, or again after the price moved away)."""

    status: ClassVar[OrderStatus] = OrderStatus.WAITING
    reason: str
    current_price: Decimal | None = None
    error: Failure | None = None  # re-armed after this failure (a slippage on chain)


@dataclass(frozen=True, slots=True)
class PriceUpdated:
    """A waiting order's current net price, for its subscribers. Not a status change."""

    status: ClassVar[OrderStatus] = OrderStatus.WAITING
    price: Decimal


@dataclass(frozen=True, slots=True)
class TriggerMoved:
    """A waiting order's mark moved (see `OrderType.moved`): a trailing stop's best price rose
    (by 0.1 % or more, or before it fires), a stop-limit was triggered and is a limit order
    now. Not a status change; kept so that a restart waits from the same mark."""

    status: ClassVar[OrderStatus] = OrderStatus.WAITING
    mark: Decimal


@dataclass(frozen=True, slots=True)
class Routed:
    status: ClassVar[OrderStatus] = OrderStatus.ROUTING
    plan: RoutePlan
    expected_price: Decimal
    leg: str | None = None  # a bracket's leg that fired: take_profit or stop
    previous_error: Failure | None = None  # why it is routed again (a first hop that slipped)


@dataclass(frozen=True, slots=True)
class Signed:
    """Attempt `attempt` is signed; its signature is known before anything is sent."""

    status: ClassVar[OrderStatus] = OrderStatus.BUILDING
    attempt: int
    tx: SignedTransaction
    previous_error: Failure | None = None  # why this is not the first attempt


@dataclass(frozen=True, slots=True)
class Sent:
    status: ClassVar[OrderStatus] = OrderStatus.SUBMITTED
    attempt: int


@dataclass(frozen=True, slots=True)
class Filled:
    status: ClassVar[OrderStatus] = OrderStatus.CONFIRMED
    fill: Fill


@dataclass(frozen=True, slots=True)
class Failed:
    status: ClassVar[OrderStatus] = OrderStatus.FAILED
    error: Failure


@dataclass(frozen=True, slots=True)
class Cancelled:
    status: ClassVar[OrderStatus] = OrderStatus.CANCELLED
    reason: str


@dataclass(frozen=True, slots=True)
class Expired:
    status: ClassVar[OrderStatus] = OrderStatus.EXPIRED
    reason: str


@dataclass(frozen=True, slots=True)
class SliceSent:
    """A TWAP parent sent slice `index` (0-based) as the child market order `child`. Kept
    before the child exists, so that a restart creates it if it does not, and never twice."""

    status: ClassVar[OrderStatus] = OrderStatus.WAITING
    index: int
    child: str
    amount: int


@dataclass(frozen=True, slots=True)
class SliceDone:
    """The open slice's child ended (`child_status`), having sold `amount_in` for `amount_out`;
    `child_error`: why, when it failed."""

    status: ClassVar[OrderStatus] = OrderStatus.WAITING
    index: int
    child: str
    child_status: OrderStatus
    amount_in: int
    amount_out: int
    child_error: Failure | None = None


@dataclass(frozen=True, slots=True)
class SliceSkipped:
    """Slice `index` was not sent (its price was below the limit, or trading was halted); its
    share is carried to the next slice."""

    status: ClassVar[OrderStatus] = OrderStatus.WAITING
    index: int
    reason: str
    current_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ScheduleDone:
    """Every slice sold: the TWAP parent is confirmed."""

    status: ClassVar[OrderStatus] = OrderStatus.CONFIRMED


@dataclass(frozen=True, slots=True)
class PartiallyFilled:
    """The schedule ran out with part of the amount unsold."""

    status: ClassVar[OrderStatus] = OrderStatus.PARTIALLY_FILLED
    reason: str


Change = (Accepted | Armed | PriceUpdated | TriggerMoved | Routed | Signed | Sent | Filled | Failed
          | Cancelled | Expired | SliceSent | SliceDone | SliceSkipped | ScheduleDone
          | PartiallyFilled)


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """One entry of an order's history: seq 1, 2, 3... per order."""

    order_id: str
    seq: int
    at: datetime
    change: Change
    resumed: bool = False  # the first event after the engine restarted with this order open

    @property
    def status(self) -> OrderStatus:
        return self.change.status


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as persisted and streamed: its place in the feed (`gseq`) and its JSON body,
    serialised once and sent as it is to every subscriber."""

    order_id: str
    seq: int
    gseq: int
    status: OrderStatus
    body: bytes
    owner: str | None = None  # the order's owner: who may see it on the firehose

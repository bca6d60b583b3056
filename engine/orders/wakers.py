"""What wakes a waiting order: the price watcher, or its TWAP schedule."""

from __future__ import annotations

from engine.domain.events import Armed, OrderEvent, StoredEvent
from engine.domain.order import Order
from engine.domain.status import OrderStatus
from engine.orders.long_lived import LongLived
from engine.orders.twap import TwapScheduler
from engine.orders.watcher import Watcher


class Wakers:
    """The price watcher and the TWAP scheduler, as the rest of the engine sees them: one
    place hands a waiting order to the right one, counts and forgets waiting orders."""

    def __init__(self, watcher: Watcher, twap: TwapScheduler, long_lived: LongLived) -> None:
        self._watcher, self._twap, self._long_lived = watcher, twap, long_lived

    def publish(self, event: OrderEvent, stored: StoredEvent, order: Order) -> None:
        """A Publisher: an order armed (placed, or re-armed after its price moved away or its
        fill slipped) waits for what wakes it, once that is durable."""
        if isinstance(event.change, Armed) and order.status is OrderStatus.WAITING:
            self.hand_over(order)

    def hand_over(self, order: Order) -> None:
        """A waiting order goes to what wakes it: its TWAP schedule, or the price watcher."""
        self._long_lived.arrived()
        if order.request.schedule is not None:
            self._twap.arm(order)
        else:
            self._watcher.arm(order)

    def forget(self, order_id: str) -> None:
        """Cancelled, or moved on by another engine process: nothing wakes it any more."""
        self._watcher.disarm(order_id)
        self._twap.disarm(order_id)

    @property
    def waiting(self) -> int:
        return self._watcher.waiting + self._twap.running

    def waiting_of(self, owner: str) -> int:
        return self._watcher.waiting_of(owner) + self._twap.running_of(owner)

    async def stop(self) -> None:
        await self._watcher.stop()
        await self._twap.stop()

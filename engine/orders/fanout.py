"""One publisher that tells many: every event, to each subscriber in the order they came."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.domain.events import OrderEvent, StoredEvent
from engine.domain.order import Order
from engine.ports import Publisher


@dataclass
class Fanout:
    """Publish each event to every subscriber, in the order they subscribed. Made before the
    service; the parts that react to its events (and are made from it) subscribe once made."""

    publishers: list[Publisher] = field(default_factory=list)

    def subscribe(self, *publishers: Publisher) -> None:
        self.publishers.extend(publishers)

    def publish(self, event: OrderEvent, stored: StoredEvent, order: Order) -> None:
        for publisher in self.publishers:
            publisher.publish(event, stored, order)

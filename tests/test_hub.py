"""The hub never blocks the publisher and never grows without bound."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.domain.order import StatusChanged
from engine.domain.status import OrderStatus
from engine.hub import Hub

AT = datetime(2026, 1, 1, tzinfo=UTC)


def event(seq: int, order_id: str = "o") -> StatusChanged:
    return StatusChanged(order_id, seq, OrderStatus.ROUTING, AT)


async def test_a_subscriber_receives_its_orders_events_in_order() -> None:
    hub = Hub()
    sub = hub.subscribe("o")
    hub.publish(event(1))
    hub.publish(event(2, "other"))
    hub.publish(event(3))
    assert [(await sub.next())[0].seq for _ in range(2)] == [1, 3]


async def test_a_subscriber_that_does_not_read_is_marked_lagging_and_stops_buffering() -> None:
    hub = Hub(buffer=4)
    slow, fast = hub.subscribe("o"), hub.subscribe("o")
    for seq in range(1, 1001):
        hub.publish(event(seq))  # returns at once: nobody is awaited
        if not fast.queue.empty():
            await fast.next()
    assert slow.lagging and slow.queue.qsize() == 4  # bounded, whatever was published
    assert not fast.lagging


def test_unsubscribing_the_last_subscriber_forgets_the_order() -> None:
    hub = Hub()
    sub = hub.subscribe("o")
    hub.unsubscribe(sub)
    assert hub.subscriber_count == 0 and hub.watched_orders == 0

"""The hub never blocks the publisher and never grows without bound."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from stubs import change_to

from engine.api.sinks import SocketSink, websocket_frame
from engine.api.sinks import seq as by_seq
from engine.domain.events import OrderEvent, StoredEvent
from engine.domain.status import OrderStatus
from engine.publishing.hub import Hub

AT = datetime(2026, 1, 1, tzinfo=UTC)


def stored(n: int, order_id: str = "o", gseq: int = 0,
           status: OrderStatus = OrderStatus.ROUTING) -> tuple[OrderEvent, StoredEvent]:
    body = f'{{"orderId":"{order_id}","seq":{n},"gseq":{gseq}}}'.encode()
    return (OrderEvent(order_id, n, AT, change_to(status)),
            StoredEvent(order_id, n, gseq, status, body))


def event(n: int, order_id: str = "o") -> tuple[OrderEvent, StoredEvent]:
    return stored(n, order_id)


async def test_a_subscriber_receives_its_orders_events_in_order() -> None:
    hub = Hub(encode=websocket_frame)
    sub = hub.subscribe("o")
    hub.publish(*event(1))
    hub.publish(*event(2, "other"))
    hub.publish(*event(3))
    assert [(await sub.next()).seq for _ in range(2)] == [1, 3]


async def test_a_subscriber_that_does_not_read_is_marked_lagging_and_stops_buffering() -> None:
    hub = Hub(buffer=4)
    slow, fast = hub.subscribe("o"), hub.subscribe("o")
    for n in range(1, 1001):
        hub.publish(*event(n))  # returns at once: nobody is awaited
        if fast.pending:
            await fast.next()
    assert slow.lagging and len(slow.pending) == 4  # bounded, whatever was published
    assert not fast.lagging


def test_unsubscribing_the_last_subscriber_forgets_the_order() -> None:
    hub = Hub(encode=websocket_frame)
    sub = hub.subscribe("o")
    hub.unsubscribe(sub)
    assert hub.subscriber_count == 0 and hub.watched_orders == 0


def test_websocket_frames_use_the_three_length_encodings() -> None:
    assert websocket_frame(b"x" * 125)[:2] == bytes((0x81, 125))
    assert websocket_frame(b"x" * 126)[:4] == bytes((0x81, 126, 0, 126))
    assert websocket_frame(b"x" * 70_000)[:2] == bytes((0x81, 127))
    assert int.from_bytes(websocket_frame(b"x" * 70_000)[2:10], "big") == 70_000


class FakeTransport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def writelines(self, chunks: list[bytes]) -> None:
        self.written.append(b"".join(chunks))

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return sum(map(len, self.written))


def feed(gseq: int) -> tuple[OrderEvent, StoredEvent]:
    return stored(1, gseq=gseq)


async def test_a_caught_up_reader_is_written_to_directly_until_a_gap_hands_it_back() -> None:
    hub, transport = Hub(encode=websocket_frame), FakeTransport()
    sub = hub.subscribe("*")
    sub.attach(SocketSink(transport, last=0, buffer_limit=10_000))  # type: ignore[arg-type]
    hub.publish(*feed(1))
    hub.publish(*feed(2))
    assert transport.written == []  # frames of one loop pass go out together, after it
    await asyncio.sleep(0)
    assert len(transport.written) == 1 and not sub.pending and sub.sink is not None
    hub.publish(*feed(3))
    hub.publish(*feed(5))  # 4 is missing: the handler must fetch it from the store
    assert sub.sink is None and len(transport.written) == 2  # 3 went out before the handback
    assert transport.written[1] == websocket_frame(feed(3)[1].body)


async def test_a_direct_reader_whose_buffer_fills_is_handed_back() -> None:
    hub, transport = Hub(encode=websocket_frame), FakeTransport()
    sub = hub.subscribe("*")
    sub.attach(SocketSink(transport, last=0, buffer_limit=100))  # type: ignore[arg-type]
    for gseq in range(1, 10):
        hub.publish(*feed(gseq))
    assert sub.sink is None and transport.get_write_buffer_size() > 100


async def test_an_order_stream_written_directly_is_handed_back_after_its_terminal_event() -> None:
    hub, transport = Hub(encode=websocket_frame), FakeTransport()
    sub = hub.subscribe("o")
    sink = SocketSink(transport, last=1, buffer_limit=10_000, position=by_seq,
                      ends_with_order=True)  # type: ignore[arg-type]
    sub.attach(sink)
    hub.publish(*stored(2, gseq=50))
    assert sub.sink is sink and sink.last == 2
    hub.publish(*stored(3, gseq=51, status=OrderStatus.FAILED))
    assert sub.sink is None and sink.finished and sink.last == 3
    assert len(transport.written) == 1 and not sub.pending  # both frames, in one write
    await asyncio.sleep(0)
    assert len(transport.written) == 1


async def test_detach_all_hands_every_direct_subscriber_back() -> None:
    hub, transport = Hub(encode=websocket_frame), FakeTransport()
    subs = [hub.subscribe("*"), hub.subscribe("o")]
    for sub in subs:
        sub.attach(SocketSink(transport, last=0, buffer_limit=10_000))  # type: ignore[arg-type]
    hub.detach_all()
    hub.publish(*feed(1))
    assert all(s.sink is None for s in subs) and transport.written == []


async def test_a_handler_waiting_on_its_direct_subscriber_wakes_when_it_is_handed_back() -> None:
    hub, transport = Hub(encode=websocket_frame), FakeTransport()
    sub = hub.subscribe("*")
    sub.attach(SocketSink(transport, last=0, buffer_limit=10_000))  # type: ignore[arg-type]
    waiter = asyncio.create_task(sub.detached())
    hub.publish(*feed(1))
    await asyncio.sleep(0)
    assert not waiter.done()
    hub.publish(*feed(3))  # a gap: the handler must fetch 2 from the store
    await asyncio.wait_for(waiter, 1)

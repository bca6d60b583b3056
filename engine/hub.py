"""In-memory broadcast of order events to WebSocket subscribers, never blocking the publisher."""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from dataclasses import dataclass, field

from engine.domain.order import StatusChanged

# An event and its JSON text, serialised once and shared by every subscriber.
Delivery = tuple[StatusChanged, bytes]


def framed(event: StatusChanged) -> Delivery:
    return event, event.to_json()


def websocket_frame(payload: bytes) -> bytes:
    """A whole unmasked server-to-client text frame (RFC 6455 5.2), built once per event."""
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 1 << 16:
        header = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return header + payload


@dataclass(eq=False)
class DirectSink:
    """A caught-up subscriber: `publish` writes its frames to its transport itself, with no task
    wake-up per subscriber per event, and all the frames of one loop pass (a commit batch) in one
    write. Any surprise, or an order's end, hands it back to its handler."""

    transport: asyncio.WriteTransport
    last: int  # the last position queued: gseq on the firehose, seq on an order's stream
    buffer_limit: int
    per_order: bool = False
    finished: bool = False  # the order's terminal event was queued: its handler closes
    queued: list[bytes] = field(default_factory=list)
    queued_bytes: int = 0

    def write(self, event: StatusChanged, wire: bytes) -> bool:
        """False when the reader must be handed back: a gap, a closing, a full transport, or
        the end of its order."""
        position = event.seq if self.per_order else event.gseq
        if position != self.last + 1 or self.transport.is_closing():
            return False
        self.queued.append(wire)
        self.queued_bytes += len(wire)
        self.last = position
        if self.per_order and event.status.terminal:
            self.finished = True
            return False
        return self.transport.get_write_buffer_size() + self.queued_bytes <= self.buffer_limit

    def flush(self) -> None:
        if self.queued and not self.transport.is_closing():
            self.transport.writelines(self.queued)
        self.queued.clear()
        self.queued_bytes = 0


@dataclass(eq=False, slots=True)
class Subscription:
    """One subscriber's bounded buffer. Overflow marks it lagging instead of growing memory.

    Plain fields and one future made only while its handler waits: ten thousand idle
    subscribers should cost little more than their sockets."""

    order_id: str
    capacity: int
    pending: deque[Delivery] = field(default_factory=deque)
    lagging: bool = False
    sink: DirectSink | None = None
    _wake: asyncio.Future[None] | None = None

    def attach(self, sink: DirectSink) -> None:
        self.sink = sink

    def detach(self) -> None:
        self.sink = None
        self._ring()

    def offer(self, delivery: Delivery) -> None:
        if self.lagging:
            return
        if len(self.pending) >= self.capacity:
            self.lagging = True  # the stream owner closes it; the client resumes from the store
        else:
            self.pending.append(delivery)
        self._ring()

    async def next(self) -> Delivery:
        while not self.pending:
            await self._wait()
        return self.pending.popleft()

    async def detached(self) -> None:
        """Return once `publish` has handed this subscriber back to its handler."""
        while self.sink is not None:
            await self._wait()

    async def _wait(self) -> None:
        self._wake = asyncio.get_running_loop().create_future()
        try:
            await self._wake
        finally:
            self._wake = None

    def _ring(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)


ALL = "*"  # the firehose: every order's events


class Hub:
    def __init__(self, buffer: int = 256, firehose_buffer: int = 4096) -> None:
        # An order's events come one at a time; the firehose gets a whole commit batch at once.
        self._buffer, self._firehose_buffer = buffer, firehose_buffer
        self._subs: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._unflushed: list[DirectSink] = []  # sinks with frames queued in this loop pass

    def subscribe(self, order_id: str) -> Subscription:
        capacity = self._firehose_buffer if order_id == ALL else self._buffer
        sub = Subscription(order_id, capacity)
        self._subs[order_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.order_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.order_id]  # no map that grows forever

    def publish(self, event: StatusChanged) -> None:
        subs = [*self._subs.get(event.order_id, ()), *self._subs.get(ALL, ())]
        if not subs:
            return
        delivery, wire = framed(event), b""
        for sub in subs:
            sink = sub.sink
            if sink is None:
                sub.offer(delivery)
                continue
            wire = wire or websocket_frame(delivery[1])
            if not sink.queued:
                self._flush_later(sink)
            if not sink.write(event, wire):
                sink.flush()  # its handler writes next: what was queued goes first
                sub.detach()

    def detach_all(self) -> None:
        """Hand every directly written subscriber back to its handler: the server is closing
        their sockets, and nothing may be written to one after its close frame."""
        for subs in self._subs.values():
            for sub in subs:
                if sub.sink is not None:
                    sub.sink.flush()
                    sub.detach()

    def _flush_later(self, sink: DirectSink) -> None:
        if not self._unflushed:
            asyncio.get_running_loop().call_soon(self._flush)
        self._unflushed.append(sink)

    def _flush(self) -> None:
        sinks, self._unflushed = self._unflushed, []
        for sink in sinks:
            sink.flush()

    def watched(self) -> list[str]:
        """Ids of the orders someone is subscribed to."""
        return [order_id for order_id in self._subs if order_id != ALL]

    @property
    def watched_orders(self) -> int:
        return len(self._subs)

    @property
    def subscriber_count(self) -> int:
        return sum(len(s) for s in self._subs.values())

"""In-memory broadcast of stored order events to subscribers, never blocking the publisher.

The hub knows subscribers, not protocols: a subscriber that is caught up hands the hub a `Sink`
(the API's WebSocket writer), and `publish` offers it each event directly; the others get a
bounded queue their handler drains.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from engine.domain.events import OrderEvent, StoredEvent
from engine.domain.order import Order
from engine.publishing.histories import Histories

ALL = "*"  # the firehose: every order's events


class Sink(Protocol):
    """A caught-up subscriber's writer, fed by `publish` itself with no task wake-up."""

    def offer(self, event: StoredEvent, frame: bytes) -> bool:
        """Take the event (its `frame` encoded once for every sink); False hands the subscriber
        back to its handler: a gap, a full buffer, a closing peer, or its order's end."""

    def flush(self) -> None:
        """Write what was offered in this loop pass, in one go."""


@dataclass(eq=False, slots=True)
class Subscription:
    """One subscriber's bounded buffer. Overflow marks it lagging instead of growing memory.

    Plain fields and one future made only while its handler waits: ten thousand idle
    subscribers should cost little more than their sockets."""

    order_id: str
    capacity: int
    pending: deque[StoredEvent] = field(default_factory=deque)
    lagging: bool = False
    sink: Sink | None = None
    _wake: asyncio.Future[None] | None = None

    def attach(self, sink: Sink) -> None:
        self.sink = sink

    def detach(self) -> None:
        self.sink = None
        self._ring()

    def offer(self, event: StoredEvent) -> None:
        if self.lagging:
            return
        if len(self.pending) >= self.capacity:
            self.lagging = True  # the stream owner closes it; the client resumes from the store
        else:
            self.pending.append(event)
        self._ring()

    async def next(self) -> StoredEvent:
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


class Hub:
    def __init__(self, buffer: int = 256, firehose_buffer: int = 4096,
                 encode: Callable[[bytes], bytes] = bytes) -> None:
        # An order's events come one at a time; the firehose gets a whole commit batch at once.
        self._buffer, self._firehose_buffer = buffer, firehose_buffer
        self._encode = encode  # the sinks' framing of an event body, done once per event
        self._subs: defaultdict[str, set[Subscription]] = defaultdict(set)
        self._unflushed: dict[Sink, None] = {}  # sinks offered something in this loop pass
        self.histories = Histories()  # the latest orders' events, for streams that open now

    def subscribe(self, order_id: str) -> Subscription:
        capacity = self._firehose_buffer if order_id == ALL else self._buffer
        sub = Subscription(order_id, capacity)
        self._subs[order_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.sink = None
        subs = self._subs.get(sub.order_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.order_id]  # no map that grows forever

    def publish(self, event: OrderEvent, stored: StoredEvent,
                order: Order | None = None) -> None:
        """An event this process committed."""
        self.histories.add(stored)
        self._fan_out(stored)

    def deliver(self, stored: StoredEvent) -> None:
        """An event another engine process committed (the relay): its order's history is read
        from the store from now on (the relay's events may come after this process's own)."""
        self.histories.forget(stored.order_id)
        self._fan_out(stored)

    def _fan_out(self, stored: StoredEvent) -> None:
        subs = [*self._subs.get(stored.order_id, ()), *self._subs.get(ALL, ())]
        if not subs:
            return
        frame = b""
        for sub in subs:
            sink = sub.sink
            if sink is None:
                sub.offer(stored)
                continue
            frame = frame or self._encode(stored.body)
            if sink not in self._unflushed:
                self._flush_later(sink)
            if not sink.offer(stored, frame):
                sink.flush()  # its handler writes next: what was offered goes first
                sub.detach()

    def detach_all(self) -> None:
        """Hand every directly fed subscriber back to its handler: the server is closing their
        sockets, and nothing may be written to one after its close frame."""
        for subs in self._subs.values():
            for sub in subs:
                if sub.sink is not None:
                    sub.sink.flush()
                    sub.detach()

    def _flush_later(self, sink: Sink) -> None:
        if not self._unflushed:
            asyncio.get_running_loop().call_soon(self._flush)
        self._unflushed[sink] = None

    def _flush(self) -> None:
        sinks, self._unflushed = self._unflushed, {}
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

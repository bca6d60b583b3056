"""WebSocket frames written straight to a caught-up subscriber's transport (the hub's `Sink`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.domain.events import StoredEvent

Position = Callable[[StoredEvent], int]


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


def seq(event: StoredEvent) -> int:
    return event.seq


def gseq(event: StoredEvent) -> int:
    return event.gseq


@dataclass(eq=False)
class SocketSink:
    """A caught-up subscriber: `publish` offers it frames, written with no task wake-up per
    subscriber per event, all the frames of one loop pass (a commit batch) in one write.
    Any surprise, or its order's end, hands it back to its handler."""

    transport: asyncio.WriteTransport
    last: int  # the last position taken: gseq on the firehose, seq on an order's stream
    buffer_limit: int
    position: Position = gseq
    ends_with_order: bool = False  # an order's stream ends after its terminal event
    owner: str | None = None  # a firehose of one key's orders: others' only move `last`
    finished: bool = False  # the order's terminal event was taken: its handler closes
    queued: list[bytes] = field(default_factory=list)
    queued_bytes: int = 0

    def offer(self, event: StoredEvent, frame: bytes) -> bool:
        position = self.position(event)
        if position != self.last + 1 or self.transport.is_closing():
            return False
        self.last = position
        if self.owner is not None and event.owner != self.owner:
            return True
        self.queued.append(frame)
        self.queued_bytes += len(frame)
        if self.ends_with_order and event.status.terminal:
            self.finished = True
            return False
        return self.transport.get_write_buffer_size() + self.queued_bytes <= self.buffer_limit

    def flush(self) -> None:
        if self.queued and not self.transport.is_closing():
            self.transport.writelines(self.queued)
        self.queued.clear()
        self.queued_bytes = 0

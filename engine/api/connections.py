"""Every TCP connection the engine holds, plain HTTP and WebSocket alike, under deadlines and caps.

aiohttp times out nothing before a request's head is complete, so a client that sends half a
request head and stops (slowloris) holds a descriptor for ever. Here each connection is in one
state, and the sweep closes the ones that stay too long in a state that waits on the client:

- RECEIVING: bytes arrived, the request (head and body) is not complete: `request_seconds`;
- IDLE: kept alive between requests: `idle_seconds`;
- BUSY (a handler runs) and SOCKET (an upgraded WebSocket, which has its own heartbeat): no limit.

Caps in total and per client address hold descriptors below the process's limit; a connection
over a cap evicts the oldest idle or incomplete one (of the same address first), so an attacker's
half-sent requests give way to a client that completes its requests.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware
from loguru import logger

from engine.api.errors import ApiError

REFUSAL = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           b"Connection: close\r\nRetry-After: 5\r\nContent-Length: 92\r\n\r\n"
           b'{"error":{"code":"TOO_MANY_CONNECTIONS","message":"every connection is busy; retry '
           b'shortly"}}')
SWEEP_SECONDS = 0.25


class State(enum.Enum):
    IDLE = "idle"
    RECEIVING = "receiving"
    BUSY = "busy"
    SOCKET = "socket"


EVICTABLE = (State.IDLE, State.RECEIVING)


@dataclass(eq=False, slots=True)
class Connection:
    transport: asyncio.BaseTransport
    client: str
    state: State = State.IDLE
    since: float = field(default_factory=time.monotonic)

    def enter(self, state: State, now: float) -> None:
        self.state, self.since = state, now


@dataclass(frozen=True, slots=True)
class Limits:
    request_seconds: float = 10.0  # a request's head and body, from its first byte
    idle_seconds: float = 30.0  # a kept-alive connection with no request
    max_total: int = 10_000
    max_per_client: int = 1_000


class ConnectionGuard:
    """The open connections, by transport; deadlines enforced by `run`, caps by `admit`."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits, self._clock = limits, clock
        self._open: dict[asyncio.BaseTransport, Connection] = {}  # in order of arrival
        self._per_client: dict[str, int] = {}
        self.evicted = 0
        self.timed_out = 0

    def __len__(self) -> int:
        return len(self._open)

    def wrap(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory whose connections this guard keeps."""
        return lambda: _Guarded(self, factory)

    # -- what the request middleware reports --------------------------------------------------
    def started(self, transport: asyncio.BaseTransport | None, upgrade: bool) -> None:
        """A request's head is complete and a handler runs it (or a WebSocket now lives)."""
        connection = self._open.get(transport) if transport is not None else None
        if connection is not None:
            connection.enter(State.SOCKET if upgrade else State.BUSY, self._clock())

    def finished(self, transport: asyncio.BaseTransport | None) -> None:
        connection = self._open.get(transport) if transport is not None else None
        if connection is not None:
            connection.enter(State.IDLE, self._clock())

    def request_deadline(self, transport: asyncio.BaseTransport | None) -> float:
        """Seconds left for the current request's body, counted from its first byte."""
        connection = self._open.get(transport) if transport is not None else None
        since = connection.since if connection is not None else self._clock()
        return max(0.0, since + self.limits.request_seconds - self._clock())

    # -- what the protocol reports ------------------------------------------------------------
    def admit(self, connection: Connection) -> bool:
        """Make room for a new connection; False when every one that could go is busy."""
        if self._per_client.get(connection.client, 0) >= self.limits.max_per_client and \
                not self._evict(connection.client):
            return False
        if len(self._open) >= self.limits.max_total and not self._evict(None):
            return False
        self._open[connection.transport] = connection
        self._per_client[connection.client] = self._per_client.get(connection.client, 0) + 1
        return True

    def receiving(self, transport: asyncio.BaseTransport) -> None:
        connection = self._open.get(transport)
        if connection is not None and connection.state is State.IDLE:
            connection.enter(State.RECEIVING, self._clock())

    def forget(self, transport: asyncio.BaseTransport) -> None:
        connection = self._open.pop(transport, None)
        if connection is not None:
            left = self._per_client[connection.client] - 1
            if left:
                self._per_client[connection.client] = left
            else:
                del self._per_client[connection.client]

    # -- enforcement ----------------------------------------------------------------------------
    def _evict(self, client: str | None) -> bool:
        """Close the oldest idle or incomplete connection (of `client`, when given)."""
        victim = min((c for c in self._open.values() if c.state in EVICTABLE
                      and (client is None or c.client == client)),
                     key=lambda c: c.since, default=None)
        if victim is None:
            return False
        self._close(victim)
        self.evicted += 1
        return True

    def sweep(self) -> int:
        """Close every connection past its state's deadline; how many were closed."""
        now, limits = self._clock(), self.limits
        overdue = [c for c in self._open.values()
                   if (c.state is State.RECEIVING and now - c.since >= limits.request_seconds)
                   or (c.state is State.IDLE and now - c.since >= limits.idle_seconds)]
        for connection in overdue:
            self._close(connection)
        self.timed_out += len(overdue)
        return len(overdue)

    def _close(self, connection: Connection) -> None:
        self.forget(connection.transport)
        # An attacker's socket gets no graceful close to hold (uvloop's transports abort too,
        # without being asyncio.Transport instances).
        abort = getattr(connection.transport, "abort", connection.transport.close)
        abort()

    async def run(self) -> None:
        """Sweep for ever (a task of the server)."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            closed = self.sweep()
            if closed:
                logger.debug("closed {} connections past their deadline", closed)


def pacing(guard: ConnectionGuard) -> Middleware:
    """Tell the guard when a request runs; a body must arrive within the request's deadline."""

    @web.middleware
    async def pace(request: web.Request, handler: Handler) -> web.StreamResponse:
        transport = request.transport
        deadline = guard.request_deadline(transport)  # from the request's first byte
        upgrade = request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
        guard.started(transport, upgrade)
        try:
            if request.body_exists:
                try:
                    async with asyncio.timeout(deadline):
                        await request.read()  # kept by aiohttp for the handler
                except TimeoutError:
                    late = ApiError(408, "REQUEST_TIMEOUT", "the request's body did not arrive "
                                    f"within {guard.limits.request_seconds:g} s").response()
                    # Answered, then closed: aiohttp would linger 10 s for the rest of the body.
                    await late.prepare(request)
                    await late.write_eof()
                    if transport is not None:
                        transport.close()
                    return late
            return await handler(request)
        finally:
            if not upgrade:
                guard.finished(transport)

    return pace


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, with the guard told what the client does."""

    def __init__(self, guard: ConnectionGuard, factory: Callable[[], asyncio.Protocol]) -> None:
        self._guard, self._factory = guard, factory
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        client = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        if not self._guard.admit(Connection(transport, client)):
            if isinstance(transport, asyncio.WriteTransport):
                transport.write(REFUSAL)
            transport.close()
            return
        self._transport, self._inner = transport, self._factory()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._inner is not None and self._transport is not None:
            self._guard.receiving(self._transport)
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._inner is not None and self._transport is not None:
            self._guard.forget(self._transport)
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()


CONNECTIONS = web.AppKey("connections", ConnectionGuard)

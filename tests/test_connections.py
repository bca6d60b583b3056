"""Connections under abuse: half-sent requests (slowloris), idle keep-alives and caps, against a
real engine process over real sockets; the guard's rules on their own with a hand-moved clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from engine.api.connections import Connection, ConnectionGuard, Limits, State
from engine.testing.process import EngineProcess

HALF_SENT = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-a: "
COMPLETE = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def open_half_sent(port: int, count: int) -> list[Stream]:
    streams = []
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(HALF_SENT)
        streams.append((reader, writer))
    return streams


async def still_open(streams: list[Stream]) -> int:
    """How many the server has not closed: a closed one reads EOF (or a reset) at once."""
    async def is_open(reader: asyncio.StreamReader) -> bool:
        try:
            while await asyncio.wait_for(reader.read(4096), 0.05):
                pass  # what was answered before: read past it
            return False
        except TimeoutError:
            return True
        except ConnectionError:
            return False
    return sum(await asyncio.gather(*(is_open(reader) for reader, _ in streams)))


async def complete_request(port: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(COMPLETE)
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer


def close_all(streams: list[Stream]) -> None:
    for _, writer in streams:
        writer.close()


async def test_half_sent_requests_give_way_to_a_complete_one_and_then_are_closed(
        tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path / "e.db", "--request-timeout", "1",
                           "--max-open-connections-per-client", "40")
    await engine.start()
    try:
        attack = await open_half_sent(engine.port, 120)
        await asyncio.sleep(0.2)
        assert await still_open(attack) <= 40  # the cap evicted the oldest incomplete ones
        assert (await complete_request(engine.port)).startswith(b"HTTP/1.1 200")
        await asyncio.sleep(1.6)  # past the request deadline and a sweep
        assert await still_open(attack) == 0
        close_all(attack)
        assert (await complete_request(engine.port)).startswith(b"HTTP/1.1 200")
    finally:
        await engine.terminate()


async def test_an_idle_keep_alive_connection_is_closed_after_the_idle_timeout(
        tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path / "e.db", "--idle-timeout", "0.5")
    await engine.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", engine.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        await asyncio.sleep(1.0)
        assert await still_open([(reader, writer)]) == 0
        writer.close()
    finally:
        await engine.terminate()


async def test_a_body_that_trickles_past_the_deadline_is_answered_408(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path / "e.db", "--request-timeout", "0.5")
    await engine.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", engine.port)
        writer.write(b"POST /api/orders/execute HTTP/1.1\r\nHost: localhost\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        answer = await asyncio.wait_for(reader.read(), 5)  # answered, then closed
        assert answer.startswith(b"HTTP/1.1 408")
        assert b"REQUEST_TIMEOUT" in answer
        writer.close()
    finally:
        await engine.terminate()


class FakeTransport:
    def __init__(self) -> None:
        self.closed = False

    def abort(self) -> None:
        self.closed = True

    def close(self) -> None:
        self.closed = True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def admitted(guard: ConnectionGuard, client: str = "10.0.0.1") -> FakeTransport:
    transport = FakeTransport()
    assert guard.admit(Connection(transport, client, since=guard._clock()))  # type: ignore[arg-type]
    return transport


def test_the_oldest_incomplete_connection_of_the_same_client_makes_room() -> None:
    clock = Clock()
    guard = ConnectionGuard(Limits(max_total=10, max_per_client=2), clock)
    first = admitted(guard)
    clock.now = 1
    second = admitted(guard)
    guard.receiving(first)  # type: ignore[arg-type]
    guard.receiving(second)  # type: ignore[arg-type]
    clock.now = 2
    other = admitted(guard, "10.0.0.2")
    admitted(guard)
    assert first.closed and not second.closed and not other.closed


def test_busy_connections_are_never_evicted_and_a_new_one_is_refused() -> None:
    guard = ConnectionGuard(Limits(max_total=2, max_per_client=2), Clock())
    for transport in (admitted(guard), admitted(guard)):
        guard.started(transport, upgrade=False)  # type: ignore[arg-type]
    assert not guard.admit(Connection(FakeTransport(), "10.0.0.1"))  # type: ignore[arg-type]
    assert len(guard) == 2


@pytest.mark.parametrize(("state", "seconds", "closed"), [
    (State.RECEIVING, 9.9, False), (State.RECEIVING, 10, True), (State.IDLE, 29, False),
    (State.IDLE, 30, True), (State.BUSY, 1_000, False), (State.SOCKET, 1_000, False)])
def test_the_sweep_closes_what_waits_on_the_client_past_its_deadline(
        state: State, seconds: float, closed: bool) -> None:
    clock = Clock()
    guard = ConnectionGuard(Limits(request_seconds=10, idle_seconds=30), clock)
    transport = admitted(guard)
    if state is State.RECEIVING:
        guard.receiving(transport)  # type: ignore[arg-type]
    elif state is not State.IDLE:
        guard.started(transport, upgrade=state is State.SOCKET)  # type: ignore[arg-type]
    clock.now = seconds
    guard.sweep()
    assert transport.closed is closed

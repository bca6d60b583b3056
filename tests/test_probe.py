"""What /healthz asks of the store and the node: answered within its time however the other
side behaves, one read at a time, and asked at most once per period however often /healthz is
(it needs no key, and each read of a paid node counts against the engine's rate limit there)."""

from __future__ import annotations

import asyncio

from engine.usecases.probe import Probe


class Side:
    """Something outside the process: counts its reads; `hang` holds them, `error` fails them."""

    def __init__(self) -> None:
        self.reads, self.error = 0, None
        self.hang: asyncio.Event | None = None

    async def read(self) -> int:
        self.reads += 1
        if self.hang is not None:
            await self.hang.wait()
        if self.error is not None:
            raise self.error
        return 7


class Time:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_healthy_side_is_no_problem_and_is_asked_once_a_period() -> None:
    side, time = Side(), Time()
    probe = Probe(side.read, "the node cannot serve", time, seconds=1.0)
    assert [await probe.problem() for _ in range(50)] == [None] * 50
    assert side.reads == 1  # a flood of health checks is one read
    time.now = 1.0
    assert await probe.problem() is None and side.reads == 2


async def test_a_refusing_side_says_what_failed_and_why() -> None:
    side, time = Side(), Time()
    side.error = ConnectionRefusedError("Cannot connect to host")
    probe = Probe(side.read, "the node cannot serve", time)
    assert await probe.problem() == "the node cannot serve (Cannot connect to host)"
    side.error, time.now = None, 1.0
    assert await probe.problem() is None


async def test_a_hung_side_is_answered_in_time_and_its_read_is_not_repeated() -> None:
    side, time = Side(), Time()
    side.hang = asyncio.Event()
    probe = Probe(side.read, "the store cannot be read", time, seconds=0.01)
    assert await probe.problem() == "the store cannot be read (no answer within 0.01 s)"
    time.now = 5.0
    assert await probe.problem() == "the store cannot be read (no answer within 0.01 s)"
    assert side.reads == 1  # the late read is waited for, not abandoned for another
    side.hang.set()
    assert await probe.problem() is None and side.reads == 1

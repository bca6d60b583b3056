"""`python -m engine --processes N`: N engine processes serving one port (SO_REUSEPORT), on one
PostgreSQL order book and one cluster. The parent keeps N running: it starts them, starts another
in place of one that dies (its orders are meanwhile taken over by the others, as their leases
say), passes signals on, and waits. Each child is an ordinary engine, which any load balancer
could front as well."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from loguru import logger

from engine.api.server import STOP_SIGNALS
from engine.config import Settings, is_postgres

# Set in each child, to its parent's pid: bind with SO_REUSEPORT, tag the log lines, and stop
# when that parent is gone.
CHILD = "ENGINE_REUSE_PORT"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
REFUSED = 2  # an engine's exit status when it refuses its configuration: a restart repeats it


@dataclass(frozen=True)
class Restarts:
    """When a child that died is started again. One that dies within `quick_seconds` of its
    start did not get going (a port taken, a database refused): it is started again after a
    pause that doubles, and after `give_up_after` such deaths in a row the parent stops the
    others and exits 1, instead of starting a broken engine for ever."""

    quick_seconds: float = 10.0
    give_up_after: int = 5
    first_pause: float = 1.0
    longest_pause: float = 30.0

    def pause(self, quick_deaths: int) -> float:
        if quick_deaths == 0:
            return 0.0
        return float(min(self.first_pause * 2 ** (quick_deaths - 1), self.longest_pause))


def refusal(settings: Settings) -> str | None:
    """Why N processes cannot share this configuration, or None."""
    if not is_postgres(settings.db):
        return ("--processes needs a shared order book: --db postgresql://... (SQLite is "
                "one process's file)")
    if settings.port == 0:
        return ("--processes needs a fixed --port: with 0 each engine would listen on a port "
                "of its own, not share one")
    if not settings.rpc_url:
        return ("--processes needs a shared cluster: start `python -m engine cluster` and "
                "pass --rpc-url http://127.0.0.1:8899 (each process would otherwise simulate "
                "its own)")
    return None


def run(settings: Settings, argv: Sequence[str]) -> int:
    command = [sys.executable, "-m", "engine", *_without_processes(argv)]
    logger.info("{} engine processes on port {}", settings.processes, settings.port)
    return asyncio.run(Supervisor(command, settings.processes).run())


class Supervisor:
    """Keeps `count` copies of `command` running until SIGTERM, SIGINT or SIGHUP, which it
    passes on."""

    def __init__(self, command: Sequence[str], count: int, restarts: Restarts = Restarts(),
                 env: Mapping[str, str] | None = None) -> None:
        self._command, self._count, self._restarts = list(command), count, restarts
        self._env = {**(os.environ if env is None else env), CHILD: str(os.getpid())}
        self._children: dict[int, asyncio.subprocess.Process] = {}
        self._stopping: asyncio.Event | None = None
        self._signal = signal.SIGTERM
        self._ended: int | None = None  # the exit status, once one child ended everything

    async def run(self) -> int:
        """The exit status: 2 if a child refused its configuration, 1 if one kept dying at its
        start (or could not be made), else the children's worst."""
        self._stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, self._stop, signum)
        try:
            codes = await asyncio.gather(*(self._keep(slot) for slot in range(self._count)))
        finally:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
        if self._ended is not None:
            return self._ended
        return max(_status(code) for code in codes)

    def _stop(self, signum: int) -> None:
        assert self._stopping is not None
        self._signal = signal.Signals(signum)
        self._stopping.set()
        for child in self._children.values():
            if child.returncode is None:
                child.send_signal(signum)

    async def _keep(self, slot: int) -> int:
        """Run one slot's child, and another each time it dies, until stopped."""
        assert self._stopping is not None
        quick, replaced = 0, None
        while True:
            try:
                child = await asyncio.create_subprocess_exec(*self._command, env=self._env)
            except OSError as error:  # no process could be made (memory, a process limit)
                logger.error("cannot start an engine process: {}; stopping the others", error)
                return self._end(1)
            self._children[slot], started = child, time.monotonic()
            if replaced is None:
                logger.info("engine process {} started", child.pid)
            else:
                logger.info("engine process {} started in place of {}", child.pid, replaced)
            if self._stopping.is_set():  # the signal came while this one was starting
                child.send_signal(self._signal)
            code = await child.wait()
            if self._stopping.is_set():  # one still starting may die of the signal: as asked
                return 0 if code == -self._signal else code
            if code == REFUSED:  # it said why; the others would say the same
                logger.error("engine process {} refused its configuration; stopping the others",
                             child.pid)
                return self._end(REFUSED)
            quick = quick + 1 if time.monotonic() - started < self._restarts.quick_seconds else 0
            if quick >= self._restarts.give_up_after:
                logger.error("engine process {} {}: {} times in a row within {:g} s of its "
                             "start; stopping the others", child.pid, _how(code), quick,
                             self._restarts.quick_seconds)
                return self._end(1)
            pause = self._restarts.pause(quick)
            logger.warning("engine process {} {}; starting another{}", child.pid, _how(code),
                           f" in {pause:g} s" if pause else "")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)
            if self._stopping.is_set():  # stopped between two: nothing runs here, as asked
                return 0
            replaced = child.pid


    def _end(self, status: int) -> int:
        """End everything with this exit status: the other children are stopped."""
        if self._ended is None:
            self._ended = status
        self._stop(signal.SIGTERM)
        return status


def die_with_parent() -> None:
    """In a child: be sent SIGTERM when the parent dies, even by SIGKILL, so that no engine
    goes on serving the port with no parent to start another in its place, or to stop it with
    the others (Linux; elsewhere the parent's signals are all there is). A parent that died
    before this ran shows as another parent pid: then this child stops at once."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if str(os.getppid()) != os.environ.get(CHILD):
        os.kill(os.getpid(), signal.SIGTERM)


def _how(code: int) -> str:
    if code < 0:
        return f"was killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


def _status(code: int) -> int:
    """A shell's exit status for a child's: 128 + N for one killed by signal N."""
    return 128 - code if code < 0 else code


def _without_processes(argv: Sequence[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--processes":
            skip = True
        elif not arg.startswith("--processes="):
            out.append(arg)
    return [*out, "--processes", "1"]

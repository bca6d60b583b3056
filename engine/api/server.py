"""Serving the app: bind the port, start the engine, guard every connection, stop on a signal.

Not aiohttp's `run_app`: its connections cannot be guarded (see `connections.py`), a busy port
or a failed start ends in a traceback, and a signal during start-up was not heard at all.
Here each of those is one line and an exit code, and SIGTERM/SIGINT stop the process in every
state within the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Coroutine
from typing import Any

from aiohttp import web
from loguru import logger

from engine.api.connections import CONNECTIONS
from engine.logs import said_if_failed

EXIT_FAILED_START = 1
EXIT_BAD_SETUP = 2
LISTEN_BACKLOG = 1024


class StartupError(Exception):
    """The engine cannot start: the message says why, in one line, for the operator."""


def bind(host: str, port: int, reuse_port: bool) -> socket.socket:
    """The listening socket; OSError (a busy port, say) before anything else has started."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(LISTEN_BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


# SIGHUP too: the terminal it ran in was closed. Each is an orderly stop (the default action of
# SIGHUP killed the process on the spot: nothing lost, but no stream closed, nothing said).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def serve(app: web.Application, host: str, port: int, *, grace: float, reuse_port: bool,
          loop: asyncio.AbstractEventLoop) -> int:
    """Serve until SIGTERM, SIGINT or SIGHUP; the process's exit code."""
    try:
        sock = bind(host, port, reuse_port)
    except OSError as error:
        logger.error("cannot listen on {}:{}: {}", host, port, error.strerror or error)
        return EXIT_BAD_SETUP
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_serve(app, sock, grace))
    finally:
        sock.close()
        loop.run_until_complete(loop.shutdown_asyncgens())
        # Threads of asyncio's own executor (name lookups, to_thread) end here, not at exit.
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


async def _serve(app: web.Application, sock: socket.socket, grace: float) -> int:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stopping.set)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=grace)
    code = await _start(runner, stopping)
    if code is None:
        guard = app[CONNECTIONS]
        server = await loop.create_server(guard.wrap(runner.server), sock=sock)  # type: ignore[arg-type]
        sweeper = asyncio.create_task(guard.run(), name="connections")
        sweeper.add_done_callback(said_if_failed)
        await stopping.wait()
        logger.info("stopping: executing orders get up to {} s", grace)
        server.close()
        sweeper.cancel()
        code = 0
    try:  # a second signal, or a stop that overruns the grace, does not hold the process
        async with asyncio.timeout(grace + 5):
            await _until_either(runner.cleanup(), stopping_again(stopping))
    except TimeoutError:
        logger.error("the engine did not stop within {} s; exiting anyway", grace + 5)
    return code


async def _start(runner: web.AppRunner, stopping: asyncio.Event) -> int | None:
    """None once started; an exit code when start-up failed or a signal came first."""
    starting = asyncio.create_task(runner.setup(), name="start-up")
    stop = asyncio.create_task(stopping.wait())
    await asyncio.wait((starting, stop), return_when=asyncio.FIRST_COMPLETED)
    stop.cancel()
    if not starting.done():
        starting.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await starting
        logger.info("stopped during start-up")
        return 0
    error = starting.exception()
    if error is None:
        return None
    logger.error("cannot start: {}", error)
    return EXIT_FAILED_START


async def stopping_again(stopping: asyncio.Event) -> None:
    """Returns at the next SIGTERM/SIGINT after the first: the operator insists."""
    stopping.clear()
    await stopping.wait()
    logger.warning("second signal: stopping now")


async def _until_either(first: Coroutine[Any, Any, None],
                        second: Coroutine[Any, Any, None]) -> None:
    tasks = [asyncio.ensure_future(first), asyncio.ensure_future(second)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

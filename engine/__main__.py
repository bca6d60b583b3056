"""`python -m engine`: serve the engine; `python -m engine submit|watch|orders|demo`: a client."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import resource
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import replace

from aiohttp import web
from loguru import logger

from engine.api import server
from engine.app import build_app, open_store
from engine.commands import cli, cluster
from engine.commands import keys as keys_command
from engine.commands import programs as programs_command
from engine.config import Settings, load, redacted
from engine.domain.hosts import host_name, is_loopback
from engine.hosting import processes
from engine.hosting.state_files import adopt_older_names
from engine.hosting.state_lock import StateLock, Unavailable, sqlite_files
from engine.logs import configure
from engine.ports import OrderStore, StorageError
from engine.solana.jsonrpc import node_name
from engine.solana_client.keypair import load_or_create

RESERVED_DESCRIPTORS = 64  # for the databases, the log and listening sockets
USAGE = """commands (each has its own --help):
  python -m engine [serve] [options]    run the engine (the options below)
  python -m engine submit IN OUT AMOUNT submit an order and follow it (--detach: print its id)
  python -m engine watch ID             follow an order's events (an id or a unique prefix;
                                        --all: every order's, from now on)
  python -m engine cancel ID            cancel an order (or --all-waiting)
  python -m engine orders               a table of recent orders
  python -m engine quote IN OUT AMOUNT  what an order would get now, venue by venue
  python -m engine wallet               the wallet's address and balances
  python -m engine demo                 orders of every type, streamed side by side
  python -m engine keys create|list|revoke|scope|unlock
                                        API keys, in the engine's database
  python -m engine cluster              the simulated Solana cluster on its own (JSON-RPC)
  python -m engine programs dump        the programs' bytecode from a node (--rpc-url, --dir)
"""


def main(argv: list[str] | None = None) -> int:
    args: list[str] = sys.argv[1:] if argv is None else argv
    if args[:1] in (["-h"], ["--help"]):
        print(USAGE)
    if args and args[0] in cli.COMMANDS:
        return _into_a_pipe(lambda: cli.main(args))
    if args[:1] == ["keys"]:
        return _into_a_pipe(lambda: keys_command.main(args[1:], _open_store))
    if args[:1] == ["cluster"]:
        configure("INFO", False)
        return cluster.main(args[1:], lambda path: str(load_or_create(path).pubkey()))
    if args[:1] == ["programs"]:
        return _into_a_pipe(lambda: programs_command.main(args[1:]))
    if args[:1] == ["serve"]:
        args = args[1:]
    settings = load(args, os.environ)
    one_of_several = bool(os.environ.get(processes.CHILD))
    configure(settings.log_level, settings.log_json, one_of_several=one_of_several)
    if one_of_several:
        processes.die_with_parent()
    adopt_older_names(settings)
    # The wallet first: a bad keypair file is a message, not a start-up traceback; and a new
    # one is made here once, not raced for by several processes.
    try:
        load_or_create(settings.keypair)
    except (ValueError, OSError) as error:
        print(f"cannot use the keypair {settings.keypair}: {error}", file=sys.stderr)
        return 2
    if settings.processes > 1:
        # Refused here once, rather than by each engine and again by each one started anew.
        why = processes.refusal(settings)
        if why:
            print(why, file=sys.stderr)
            return 2
        refused = _refused(settings)
        return refused if refused is not None else processes.run(settings, args)
    # This process's files (its orders, its embedded cluster's record) are its alone while it
    # runs: a second engine on them would execute the same orders again.
    try:
        with StateLock(sqlite_files(settings.db, "" if settings.rpc_url else settings.chain_db)):
            return _serve(settings)
    except Unavailable as error:
        logger.error("cannot start: {}", error)
        return 1


def _serve(settings: Settings) -> int:
    refused = _refused(settings)
    if refused is not None:
        return refused
    settings = within_descriptor_limit(settings)
    logger.info("engine on http://{}:{} (db {}, {} workers, {})", settings.host, settings.port,
                redacted(settings.db), settings.workers,
                f"node {node_name(settings.rpc_url)}, latency x{settings.latency_scale}"
                if settings.rpc_url else f"embedded cluster: latency x{settings.latency_scale}, "
                f"failure rate {settings.failure_rate}")
    try:
        app = build_app(settings)
    except server.StartupError as error:  # as one met while starting: a line, and 1
        logger.error("cannot start: {}", error)
        return 1
    app.on_startup.append(_freeze_start_up_objects)  # runs once the engine has started
    code = server.serve(app, settings.host, settings.port, grace=settings.shutdown_grace,
                        reuse_port=bool(os.environ.get(processes.CHILD)), loop=_event_loop())
    _exit_if_held(code)
    return code


async def _open_store(db: str) -> OrderStore:
    return await open_store(Settings(db=db))


def _refused(settings: Settings) -> int | None:
    """The exit status if the engine must not serve, once it has said why; None if it may."""
    try:
        refusal = asyncio.run(_protected_mode(settings))
    except StorageError as error:  # the keys are read from the database it cannot open
        logger.error("cannot start: {}", error)
        return 1
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    return None


async def _protected_mode(settings: Settings) -> str | None:
    """Why the engine must not start, or None. Bound beyond loopback with no API key, anyone
    who reaches the port could spend the wallet: refuse, unless told so explicitly."""
    if is_loopback(host_name(settings.host)):
        return None
    store = await open_store(settings)
    try:
        keys = [key for key in await store.api_keys() if key.active]
    finally:
        await store.close()
    if keys:
        return None
    if settings.insecure_no_auth:
        logger.warning("SERVING {} WITH NO API KEY (--insecure-no-auth): anyone who reaches "
                       "this port can trade with this wallet", settings.host)
        return None
    return (f"refusing to serve {settings.host} without an API key: anyone who reaches the "
            "port could trade with this wallet.\nCreate one first:  python -m engine keys "
            f"create --name me --scope admin --db {redacted(settings.db)}\n(or pass --insecure-no-auth "
            "to serve it open anyway)")


def _exit_if_held(code: int) -> None:
    """A library thread still running after the loop closed (one that a cancelled stop never
    joined) would hold the process for ever: leave without it. Every commit is already durable,
    as it is through kill -9."""
    held = [t.name for t in threading.enumerate()
            if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if held:
        logger.warning("exiting past threads that did not stop: {}", ", ".join(held))
        logging.shutdown()
        os._exit(code)


def within_descriptor_limit(settings: Settings) -> Settings:
    """Raise the open-file limit to its hard limit, and keep the connection caps below it, so
    new connections are refused cleanly (503) before descriptors run out."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    room = max(soft - RESERVED_DESCRIPTORS, 16)
    lowered = {name: room for name in ("max_open_connections", "max_open_connections_per_client",
                                       "max_connections") if getattr(settings, name) > room}
    for name in lowered:
        logger.warning("--{} {} lowered to {}: {} file descriptors available",
                       name.replace("_", "-"), getattr(settings, name), room, soft)
    return replace(settings, **lowered) if lowered else settings  # type: ignore[arg-type]


async def _freeze_start_up_objects(app: web.Application) -> None:
    """Modules, pools and resumed orders live as long as the process: keeping them out of the
    collector's full passes halves the longest pause (measured 49 -> 22 ms at 300 orders/s)."""
    gc.freeze()


def _into_a_pipe(command: Callable[[], int]) -> int:
    """Run a client command whose reader may stop early (`orders | head`): it then ends as
    `ls | head` does, quietly with 141 (128 + SIGPIPE), instead of with a traceback."""
    try:
        try:
            return command()
        finally:  # stdout is block-buffered into a pipe: most of it is written here
            sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout once more as it exits: give it somewhere that cannot fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when it is installed (`pip install -e '.[fast]'`, measured +15 %), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    logger.info("event loop: uvloop")
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


if __name__ == "__main__":
    sys.exit(main())

"""`python -m engine cluster`: the simulated cluster on its own, as a test validator runs: its
options, the wallet it funds, and the ports it listens on (JSON-RPC, and PubSub on the next)."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal

from aiohttp import web
from loguru import logger
from solders.pubkey import Pubkey

from engine.clock import SystemClock
from engine.domain.hosts import host_name
from engine.hosting.state_lock import StateLock, Unavailable, sqlite_files
from engine.simulator.cheatcodes import Cheatcodes
from engine.simulator.cluster_server import Door, serve_world
from engine.simulator.genesis import open_world
from engine.simulator.ledger import RecordUnavailable
from engine.simulator.refusals import WalletMismatch
from engine.svm.runtime import ProgramsMissing


def _funding(fund: str | None, keypair: str | None,
             address_of: Callable[[str], str]) -> tuple[str | None, int | None]:
    """(the funded wallet's address, its lamports if given) from --fund / --fund-keypair."""
    if fund and keypair:
        raise ValueError("--fund and --fund-keypair name one wallet: give one of them")
    if keypair:
        return address_of(keypair), None
    if not fund:
        return None, None
    address, _, sol = fund.partition("=")
    Pubkey.from_string(address)  # ValueError when it is not a public key
    return address, (int(Decimal(sol) * 10**9) if sol else None)


def main(argv: Sequence[str], address_of: Callable[[str], str]) -> int:
    """`address_of`: a keypair file's public key (the file made if missing)."""
    p = argparse.ArgumentParser(prog="python -m engine cluster",
                                description="The simulated Solana cluster, over JSON-RPC.")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8899,
                   help="JSON-RPC port, as a test validator's (default: %(default)s)")
    p.add_argument("--db", default="./cluster.db", help="the cluster's own record, SQLite "
                   "(default: ./cluster.db; delete it, and its -wal and -shm, to start over)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed for the simulation's randomness (default: a new one each start)")
    p.add_argument("--latency-scale", type=float, default=1.0,
                   help="1 = realistic slots and landing delays, 0 = none (default: %(default)s)")
    p.add_argument("--failure-rate", type=float, default=0.08,
                   help="probability that one transaction fails transiently "
                        "(default: %(default)s)")
    p.add_argument("--launch-rate", type=float, default=0.0,
                   help="simulated token launches per minute; 0 = none (default: %(default)s)")
    p.add_argument("--market-flow", type=float, default=None,
                   help="other traders' swaps per slot, on average (default: each pool trades "
                        "in 30 %% of slots); 0: a quiet market")
    p.add_argument("--programs", metavar="DIR", default=os.environ.get("ENGINE_PROGRAMS"),
                   help="a directory of the programs' bytecode (<program id>.so): every "
                        "transaction runs in it (default: the Python model) [env "
                        "ENGINE_PROGRAMS]")
    p.add_argument("--pubsub-port", type=int, default=None,
                   help="also serve PubSub (and JSON-RPC) here, as a test validator does "
                        "(default: --port + 1; 0: only on --port)")
    p.add_argument("--cheatcodes", action="store_true",
                   help="serve surfpool's test set-up methods (surfnet_setAccount, "
                        "surfnet_setTokenAccount, surfnet_resetAccount, surfnet_timeTravel, "
                        "surfnet_pauseClock, surfnet_resumeClock); never to a browser")
    p.add_argument("--allowed-host", action="append", default=[],
                   help="a Host name served besides loopback (repeatable)")
    p.add_argument("--allow-origin", action="append", default=[],
                   help="a browser origin allowed to call the cluster (repeatable; none by "
                        "default: a web page must not reach a local cluster)")
    p.add_argument("--fund", metavar="PUBKEY[=SOL]", default=None,
                   help="the wallet genesis funds: SOL (10,000 unless given) and the listed "
                        "tokens; no other address holds anything")
    p.add_argument("--fund-keypair", metavar="PATH", default=None,
                   help="fund the wallet of this keypair file (an engine's --keypair; created "
                        "mode 0600 if missing, as the engine would)")
    args = p.parse_args(list(argv))
    try:
        funded, lamports = _funding(args.fund, args.fund_keypair, address_of)
    except ValueError as error:
        p.error(str(error))
    try:  # the record is this process's alone while it runs (see state_lock)
        with StateLock(sqlite_files(args.db)):
            return _run(args, funded, lamports)
    except Unavailable as error:
        print(f"cannot start the cluster: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, funded: str | None, lamports: int | None) -> int:
    # The ports first, as the engine binds its own: a busy one is one line, before anything
    # else starts or says it serves. PubSub is served on the JSON-RPC port and, as a test
    # validator serves it, on the next one, where clients such as @solana/web3.js look for it.
    pubsub_port = _pubsub_port(args)
    sockets: list[socket.socket] = []
    try:
        for port in dict.fromkeys(p for p in (args.port, pubsub_port) if p):
            try:
                sockets.append(_listen(args.host, port))
            except OSError as error:
                print(f"cannot listen on {args.host}:{port}: {error.strerror or error}",
                      file=sys.stderr)
                return 2
        return _serve(args, funded, lamports, sockets)
    finally:
        for listening in sockets:
            listening.close()


def _serve(args: argparse.Namespace, funded: str | None, lamports: int | None,
           sockets: list[socket.socket]) -> int:
    door = Door(frozenset(host_name(h) for h in args.allowed_host), frozenset(args.allow_origin))
    try:
        world = open_world(SystemClock(), seed=args.seed, latency_scale=args.latency_scale,
                           failure_rate=args.failure_rate, chain_db=args.db, funded=funded,
                           lamports=lamports, market_flow=args.market_flow,
                           programs=args.programs)
    except (ProgramsMissing, WalletMismatch, RecordUnavailable) as error:
        print(f"cannot start the cluster: {error}", file=sys.stderr)
        return 2
    if args.cheatcodes:
        world.rpc.enable(Cheatcodes(world).methods())
        logger.warning("cheatcodes are on: any local client may set accounts and move time")
    if world.chain.owner is None:
        logger.warning("no wallet is funded: start with --fund PUBKEY or --fund-keypair PATH")
    else:
        logger.info("funded wallet: {}", world.chain.owner)
    logger.info("simulated cluster: JSON-RPC on http://{}:{}, PubSub on ws://{}:{}{} (record "
                "{}); transactions run as {}", args.host, args.port, args.host, args.port,
                "" if _pubsub_port(args) in (0, args.port)
                else f" and ws://{args.host}:{_pubsub_port(args)}",
                args.db,
                f"the programs' bytecode from {args.programs}" if args.programs
                else "the Python model (no --programs)")
    # A closed terminal (SIGHUP) stops it as Ctrl-C and SIGTERM do, which aiohttp handles: its
    # record is written and closed instead of the process dying on the spot.
    signal.signal(signal.SIGHUP, lambda *_: os.kill(os.getpid(), signal.SIGTERM))
    web.run_app(serve_world(world, args.launch_rate, door), sock=sockets, print=None,
                access_log=None)
    return 0


def _pubsub_port(args: argparse.Namespace) -> int:
    """PubSub's own port: the next one, unless told (0: only on --port)."""
    return int(args.port + 1 if args.pubsub_port is None else args.pubsub_port)


def _listen(host: str, port: int) -> socket.socket:
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError:
        listening.close()
        raise
    return listening

"""Settings from the command line, falling back to ENGINE_* environment variables."""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from engine.config_values import OFF, ON, TYPES, set_by


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    db: str = "./engine.db"
    chain_db: str = ""  # empty: beside --db (state_paths)
    workers: int = 10
    latency_scale: float = 1.0
    failure_rate: float = 0.08
    seed: int | None = None
    log_level: str = "INFO"
    log_json: bool = False
    max_attempts: int = 3
    max_pending: int = 10_000
    launch_rate: float = 0.0
    market_flow: float | None = None  # other traders' swaps a slot; None: as seeded (30 % a pool)
    programs: str = ""  # a directory of the programs' bytecode: the cluster runs it
    shutdown_grace: float = 10.0
    max_body_bytes: int = 16 * 1024
    stream_buffer: int = 256  # events a WebSocket subscriber may fall behind before 4008
    send_timeout: float = 10.0  # seconds a subscriber gets to take one frame
    # The door (see the README's Security section).
    allowed_hosts: tuple[str, ...] = ()  # Host names served besides loopback and the bound host
    cors_origins: tuple[str, ...] = ()  # web origins allowed to call the API from a browser
    sim_api: bool = False  # serve /api/sim/* (the simulated market's controls)
    insecure_no_auth: bool = False  # serve a non-loopback address without any API key
    access_log: bool = False
    allow_other_cluster: bool = False  # resume a database's orders on a cluster they were not made on
    max_waiting: int = 10_000  # orders waiting for their trigger at once, all keys together
    max_waiting_per_key: int = 1_000
    max_connections: int = 2_000  # open WebSockets at once
    max_connections_per_client: int = 200  # open WebSockets per API key (or client address)
    max_open_connections: int = 10_000  # TCP connections, HTTP and WebSocket alike
    max_open_connections_per_client: int = 1_000  # TCP connections per client address
    request_timeout: float = 10.0  # seconds for a request's head and body to arrive
    idle_timeout: float = 30.0  # seconds a kept-alive connection may sit with no request
    launches_per_minute: int = 60  # POST /api/sim/launch, all callers together
    requests_per_second: float = 200.0  # per API key (or per client address without keys)
    max_order_usd: float = 0.0  # the most one order may be worth, at the pools' prices; 0: off
    max_open_orders: int = 0  # waiting and executing orders together; 0: off
    # The chain edge.
    keypair: str = ""  # the wallet's keypair file; empty: beside --db (state_paths)
    rpc_url: str = ""  # a Solana JSON-RPC endpoint; empty: the embedded simulated cluster
    ws_url: str = ""  # the node's PubSub; empty: --rpc-url's own URL, as ws:// (wss://)
    max_priority_fee: int = 2_000_000  # µlamports per compute unit, whatever the market says
    always_preflight: bool = False  # the node's preflight even after the engine's simulation
    max_account_age: int = 2  # slots a pool's accounts may age before a quote reads them again
    lease_seconds: float = 10.0  # a shared store: how long an order stays with a silent process
    processes: int = 1  # engine processes on one port (a PostgreSQL --db only)


HELP = {
    "host": "interface to listen on",
    "port": "TCP port",
    "db": "SQLite database file (created on first start), or a PostgreSQL URL "
          "(postgresql://user:pass@host:port/db) for several engines on one order book",
    "chain_db": "the embedded cluster's own SQLite file (default: <name>.chain.db beside the --db)",
    "workers": "orders executed concurrently (the worker pool size)",
    "latency_scale": "1 = realistic venue/chain delays, 0 = no sleeping (tests, benchmarks)",
    "failure_rate": "probability that one execution attempt fails transiently",
    "seed": "seed for the simulation's randomness, for reproducible runs (default: a new "
            "one each start)",
    "log_level": "TRACE, DEBUG, INFO, SUCCESS, WARNING, ERROR or CRITICAL (any case)",
    "max_pending": "orders waiting for a worker before POST answers 503",
    "launch_rate": "simulated token launches per minute (for sniper orders); 0 = none",
    "market_flow": "other traders' swaps per slot on the simulated pools, on average (default: "
                   "each pool trades in 30 %% of slots); 0 = a quiet market, prices move only "
                   "with the engine's own swaps",
    "programs": "a directory of the programs' bytecode (<program id>.so): the embedded "
                "cluster executes every transaction with it (default: the Python model)",
    "shutdown_grace": "seconds executing orders get to finish on SIGTERM/SIGINT/SIGHUP",
    "max_waiting": "orders waiting for their trigger at once before POST answers 429",
    "max_waiting_per_key": "waiting orders one API key may hold",
    "max_connections": "open WebSockets at once before new ones are refused (503)",
    "max_connections_per_client": "open WebSockets per API key, or per client address for "
                                  "keyless local use (429)",
    "max_open_connections": "open TCP connections at once (HTTP and WebSocket; kept below the "
                            "descriptor limit); the oldest idle or incomplete one makes room",
    "max_open_connections_per_client": "open TCP connections per client address; the oldest "
                                       "idle or incomplete one of that address makes room",
    "request_timeout": "seconds a request's head and body get to arrive before the connection "
                       "is closed (slow clients)",
    "idle_timeout": "seconds a kept-alive connection may stay idle before it is closed",
    "launches_per_minute": "POST /api/sim/launch calls per minute (429 beyond)",
    "requests_per_second": "requests per second per API key, with twice that as a burst (429)",
    "max_order_usd": "the most one order may be worth in USD at the pools' prices (422); 0 = off",
    "max_open_orders": "waiting and executing orders together before POST answers 429; 0 = off",
    "keypair": "the wallet's keypair (Solana CLI format: a JSON array of 64 bytes), created "
               "mode 0600 if missing (default: wallet.json beside the --db; ./wallet.json for "
               "PostgreSQL)",
    "rpc_url": "a Solana JSON-RPC URL, e.g. http://127.0.0.1:8899 from `python -m engine "
               "cluster` (default: the simulated cluster, in this process)",
    "ws_url": "the node's PubSub WebSocket, where it is not --rpc-url's own URL (a "
              "solana-test-validator's is the port after it: ws://127.0.0.1:8900); default: "
              "--rpc-url as ws:// (wss:// for https://)",
    "max_priority_fee": "the most micro-lamports per compute unit the engine bids",
    "max_account_age": "slots a pool's accounts may age before a quote reads them again",
    "lease_seconds": "with PostgreSQL: seconds an order stays leased to an engine process "
                     "that stopped renewing it, before another takes it over",
    "processes": "engine processes serving one port (SO_REUSEPORT), each started again if "
                 "it dies; needs a PostgreSQL --db and --rpc-url",
}
FLAGS = {  # on/off switches: --flag, or ENGINE_<NAME>=1
    "log_json": "one JSON object per log line",
    "sim_api": "serve /api/sim/* (the simulated market's controls: token launches)",
    "insecure_no_auth": "allow serving a non-loopback address with no API key (DANGEROUS)",
    "access_log": "log one line per request (method, path, status, key, client) at INFO",
    "always_preflight": "send every transaction with the node's preflight, also one the engine "
                        "has just simulated (a second simulation an order; a price that moves "
                        "in between is refused for nothing instead of failing on chain for its "
                        "fee)",
    "allow_other_cluster": "start on a database whose orders were made on another cluster (a "
                           "different genesis hash), and adopt this one (DANGEROUS: its "
                           "unfinished orders resume on a chain that never saw them)",
}
LISTS = {  # repeatable: --flag A --flag B, or ENGINE_<NAME>=A,B
    "allowed_hosts": ("--allowed-host", "a Host name this engine answers to, besides loopback "
                      "and the bound address (e.g. behind a proxy)"),
    "cors_origins": ("--cors-origin", "a web origin (https://app.example) allowed to call the "
                     "API from a browser"),
}


def parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m engine",
        description="Order execution engine for Solana DEX trading (simulated venues).",
        epilog="Every option can also be set as ENGINE_<NAME>, e.g. ENGINE_PORT=9000.")
    defaults = Settings()
    for name, text in HELP.items():
        flag = "--" + name.replace("_", "-")
        env_name = "ENGINE_" + name.upper()
        default = env.get(env_name, getattr(defaults, name))
        # An empty default is one the text explains in words ("beside the --db").
        shown = "; default: %(default)s" if default not in ("", None) else ""
        kind = set_by(TYPES[name], env_name, env.get(env_name)) if name in TYPES else str
        p.add_argument(flag, dest=name, type=kind, default=default,
                       help=f"{text} [env {env_name}{shown}]")
    for name, text in FLAGS.items():
        env_name = "ENGINE_" + name.upper()
        value = env.get(env_name, "").strip().lower()
        if value not in (*ON, *OFF):  # a switch set to "maybe" must not be read as off
            p.error(f"{env_name}={env[env_name]!r} is not a switch: 1, true, yes or on; "
                    "0, false, no, off or empty")
        p.add_argument("--" + name.replace("_", "-"), dest=name, action="store_true",
                       default=value in ON, help=f"{text} [env {env_name}]")
    for name, (flag, text) in LISTS.items():
        env_name = "ENGINE_" + name.upper()
        listed = [item.strip() for item in env.get(env_name, "").split(",") if item.strip()]
        p.add_argument(flag, dest=name, action="append", default=listed,
                       help=f"{text}; repeatable [env {env_name}, comma-separated]")
    return p


def load(argv: Sequence[str], env: Mapping[str, str]) -> Settings:
    """Parse `argv` (without the program name); environment values are parsed the same way."""
    p = parser(env)
    args = vars(p.parse_args(list(argv)))
    if args["ws_url"] and not args["rpc_url"]:
        p.error("--ws-url names the PubSub of a node --rpc-url names; without --rpc-url the "
                "cluster is in this process")
    settings = Settings(**{**args, **{name: tuple(args[name]) for name in LISTS}})
    paths = state_paths(settings.db)
    return replace(settings, chain_db=settings.chain_db or paths.chain_db,
                   keypair=settings.keypair or paths.keypair)


WALLET = "wallet.json"


@dataclass(frozen=True, slots=True)
class StatePaths:
    keypair: str
    chain_db: str
    legacy_keypair: str  # the names before this scheme: `<db>.wallet.json`, `<db>.chain`
    legacy_chain_db: str


def state_paths(db: str) -> StatePaths:
    """Where an engine's state lives besides its database. One scheme, whatever the store: the
    wallet's keypair is `wallet.json` and the embedded cluster's record `<name>.chain.db`, in
    the directory of a SQLite `--db` (`./` for a PostgreSQL URL). So `engine.db` has
    `wallet.json` and `engine.chain.db` beside it, and engines sharing a PostgreSQL database,
    started from the same directory, use that same wallet."""
    path = Path("./engine.db" if is_postgres(db) else db)
    stem = path.name.removesuffix(".db") or path.name
    folder = path.parent
    return StatePaths(keypair=str(folder / WALLET), chain_db=str(folder / f"{stem}.chain.db"),
                      legacy_keypair=f"{path}.wallet.json", legacy_chain_db=f"{path}.chain")


def redacted(db: str) -> str:
    """--db as it may be logged: a URL's password replaced, in its credentials or its query."""
    if not is_postgres(db):
        return db
    db = re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", db)
    if "@" not in db.split("?", 1)[0]:
        return db
    scheme, rest = db.split("://", 1)
    credentials, host = rest.split("?", 1)[0].rsplit("@", 1), rest.partition("?")[1:]
    user = credentials[0].split(":", 1)[0]
    hidden = ":***" if ":" in credentials[0] else ""
    return f"{scheme}://{user}{hidden}@{credentials[1]}{''.join(host)}"


def is_postgres(db: str) -> bool:
    """Whether --db names a PostgreSQL database (a URL) rather than a SQLite file."""
    return db.startswith(("postgresql://", "postgres://"))

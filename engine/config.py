"""Settings from the command line, falling back to ENGINE_* environment variables."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    db: str = "./engine.db"
    chain_db: str = ""  # empty: next to --db, as <db>.chain
    workers: int = 10
    latency_scale: float = 1.0
    failure_rate: float = 0.08
    seed: int | None = None
    log_level: str = "INFO"
    log_json: bool = False
    max_attempts: int = 3
    max_pending: int = 10_000
    launch_rate: float = 0.0
    shutdown_grace: float = 10.0
    max_body_bytes: int = 16 * 1024
    stream_buffer: int = 256  # events a WebSocket subscriber may fall behind before 4008
    send_timeout: float = 10.0  # seconds a subscriber gets to take one frame


HELP = {
    "host": "interface to listen on",
    "port": "TCP port",
    "db": "SQLite database file (created on first start)",
    "chain_db": "the simulated chain's own SQLite file (default: the --db path + .chain)",
    "workers": "orders executed concurrently (the worker pool size)",
    "latency_scale": "1 = realistic venue/chain delays, 0 = no sleeping (tests, benchmarks)",
    "failure_rate": "probability that one execution attempt fails transiently",
    "seed": "seed for the simulation's randomness, for reproducible runs",
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "max_pending": "orders waiting for a worker before POST answers 503",
    "launch_rate": "simulated token launches per minute (for sniper orders); 0 = none",
    "shutdown_grace": "seconds executing orders get to finish on SIGTERM/SIGINT",
}


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


TYPES: dict[str, Callable[[str], Any]] = {
    "port": int, "workers": _positive_int, "latency_scale": _non_negative,
    "failure_rate": _fraction, "seed": int, "max_pending": _positive_int,
    "shutdown_grace": _non_negative, "launch_rate": _non_negative,
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
        p.add_argument(flag, dest=name, type=TYPES.get(name, str), default=default,
                       help=f"{text} [env {env_name}; default: %(default)s]")
    p.add_argument("--log-json", action="store_true",
                   default=env.get("ENGINE_LOG_JSON", "").lower() in ("1", "true", "yes"),
                   help="one JSON object per log line [env ENGINE_LOG_JSON]")
    return p


def load(argv: Sequence[str], env: Mapping[str, str]) -> Settings:
    """Parse `argv` (without the program name); environment values are parsed the same way."""
    args = parser(env).parse_args(list(argv))
    settings = Settings(**vars(args))
    if not settings.chain_db:
        settings = replace(settings, chain_db=f"{settings.db}.chain")
    return settings

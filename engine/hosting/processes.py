"""`python -m engine --processes N`: N engine processes serving one port (SO_REUSEPORT), on one
PostgreSQL order book and one cluster. The parent only starts them, passes signals on, and
waits: each child is an ordinary engine, which any load balancer could front as well."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from types import FrameType

from loguru import logger

from engine.config import Settings, is_postgres

CHILD = "ENGINE_REUSE_PORT"  # set in each child: bind with SO_REUSEPORT


def refusal(settings: Settings) -> str | None:
    """Why N processes cannot share this configuration, or None."""
    if not is_postgres(settings.db):
        return ("--processes needs a shared order book: --db postgresql://... (SQLite is "
                "one process's file)")
    if not settings.rpc_url:
        return ("--processes needs a shared cluster: start `python -m engine cluster` and "
                "pass --rpc-url http://127.0.0.1:8899 (each process would otherwise simulate "
                "its own)")
    return None


def run(settings: Settings, argv: Sequence[str]) -> int:
    args = [a for a in _without_processes(argv)]
    children = [subprocess.Popen([sys.executable, "-m", "engine", *args],
                                 env={**os.environ, CHILD: "1"})
                for _ in range(settings.processes)]
    logger.info("{} engine processes on port {}: {}", len(children), settings.port,
                " ".join(str(c.pid) for c in children))

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(child.wait() for child in children)


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

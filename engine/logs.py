"""Loguru set-up: readable lines carrying the order id when there is one."""

from __future__ import annotations

import sys

from loguru import logger

FORMAT = ("<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> <level>{level: <7}</level> "
          "<cyan>{extra[order_id]}</cyan> {message}")


def configure(level: str, as_json: bool = False) -> None:
    """Readable lines, or with `as_json` one JSON object per line (loguru's serialisation)."""
    logger.remove()
    logger.configure(extra={"order_id": "-"})
    # Local variables in a traceback could hold a key, a signature secret or a body: only at
    # debug level, where the operator asked for everything.
    debug = level.upper() in ("DEBUG", "TRACE")
    if as_json:
        logger.add(sys.stderr, level=level.upper(), serialize=True, diagnose=debug,
                   backtrace=debug)
    else:
        logger.add(sys.stderr, level=level.upper(), format=FORMAT, diagnose=debug,
                   backtrace=debug)

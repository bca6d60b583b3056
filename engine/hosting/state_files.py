"""State files written under older names, renamed to today's (`config.state_paths`)."""

from __future__ import annotations

import os

from loguru import logger

from engine.config import Settings, state_paths

SQLITE_COMPANIONS = ("", "-wal", "-shm")  # a SQLite file is these three, moved together


def adopt_older_names(settings: Settings) -> None:
    """Rename a state file written under the older names, so an upgrade keeps its wallet and
    its chain; only where the default name is in use, and never over an existing file."""
    paths = state_paths(settings.db)
    moves = []
    if settings.keypair == paths.keypair:
        moves.append((paths.legacy_keypair, paths.keypair))
    if settings.chain_db == paths.chain_db:
        moves += [(paths.legacy_chain_db + s, paths.chain_db + s) for s in SQLITE_COMPANIONS]
    for old, new in moves:
        if os.path.exists(old) and not os.path.exists(new):
            os.replace(old, new)
            logger.info("renamed {} to {} (the state files' current name)", old, new)

"""The wallet's keypair, in the Solana CLI's file format: a JSON array of 64 bytes."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from loguru import logger
from solders.keypair import Keypair


def load_or_create(path: str) -> Keypair:
    """The keypair at `path`; a new one, written owner-only (0600), if there is none yet."""
    file = Path(path)
    if file.exists():
        text = file.read_text()
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if not (isinstance(data, list) and len(data) == 64
                and all(isinstance(b, int) and 0 <= b < 256 for b in data)):
            raise ValueError(f"{path} is not a Solana keypair file (a JSON array of 64 bytes)"
                             + ("; it is empty" if not text.strip() else ""))
        try:
            keypair = Keypair.from_bytes(bytes(data))
        except ValueError:  # solders says only "signature error"
            raise ValueError(f"{path} is not a keypair: its last 32 bytes are not the public "
                             "key of its first 32 (the secret)") from None
        if os.stat(path).st_mode & 0o077:
            logger.warning("{} can be read by other users: chmod 600 it", path)
        return keypair
    keypair = Keypair()
    _write_new(path, json.dumps(list(bytes(keypair))))
    logger.info("new wallet {} (keypair written to {}, mode 0600)", keypair.pubkey(), path)
    return keypair


def _write_new(path: str, text: str) -> None:
    """A new owner-only file at `path`, whole or not at all: written and synced under a
    temporary name beside it, then linked to its name (which fails if that exists). A disk that
    fills mid-way used to leave an empty keypair file that no later start could read."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=".keypair-", dir=directory)  # mode 0600
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.link(temporary, path)
    finally:
        os.unlink(temporary)
    folder = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(folder)  # the name too survives a power cut
    finally:
        os.close(folder)

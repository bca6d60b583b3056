"""The wallet's keypair, in the Solana CLI's file format: a JSON array of 64 bytes."""

from __future__ import annotations

import json
import os
from pathlib import Path

from loguru import logger
from solders.keypair import Keypair


def load_or_create(path: str) -> Keypair:
    """The keypair at `path`; a new one, written owner-only (0600), if there is none yet."""
    file = Path(path)
    if file.exists():
        data = json.loads(file.read_text())
        if not (isinstance(data, list) and len(data) == 64
                and all(isinstance(b, int) and 0 <= b < 256 for b in data)):
            raise ValueError(f"{path} is not a Solana keypair file (a JSON array of 64 bytes)")
        try:
            keypair = Keypair.from_bytes(bytes(data))
        except ValueError:  # solders says only "signature error"
            raise ValueError(f"{path} is not a keypair: its last 32 bytes are not the public "
                             "key of its first 32 (the secret)") from None
        if os.stat(path).st_mode & 0o077:
            logger.warning("{} can be read by other users: chmod 600 it", path)
        return keypair
    keypair = Keypair()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(list(bytes(keypair)), out)
    logger.info("new wallet {} (keypair written to {}, mode 0600)", keypair.pubkey(), path)
    return keypair

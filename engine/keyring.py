"""The API keys the engine accepts, read from the store and refreshed every second, so that
`python -m engine keys create|revoke` takes effect on a running engine within a second."""

from __future__ import annotations

import asyncio
import hmac

from loguru import logger

from engine.domain.access import ApiKey, Caller, key_hash
from engine.ports import OrderStore, StorageError

REFRESH_SECONDS = 1.0


class KeyRing:
    def __init__(self, store: OrderStore) -> None:
        self._store = store
        self._by_hash: dict[str, ApiKey] = {}

    @property
    def any_active(self) -> bool:
        """Once one key exists, every request needs one."""
        return bool(self._by_hash)

    def caller(self, secret: str) -> Caller | None:
        """The caller a presented key stands for, or None for an unknown or revoked key."""
        digest = key_hash(secret)
        key = self._by_hash.get(digest)
        # The dict lookup found it by hash; compare again in constant time all the same.
        if key is None or not hmac.compare_digest(key.hash, digest):
            return None
        return Caller(key.name, key.scope)

    async def refresh(self) -> None:
        keys = await self._store.api_keys()
        self._by_hash = {key.hash: key for key in keys if key.active}

    async def run(self) -> None:
        """Refresh forever (a task of the app's lifecycle)."""
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.refresh()
            except StorageError as error:  # keep the keys we know; try again next second
                logger.warning("API keys not refreshed: {}", error)

"""The API keys the engine accepts, read from the store and refreshed twice a second, so that
`python -m engine keys create|revoke|unlock` takes effect on a running engine within a second.

Once a store has had a key, it stays locked (every request needs a key) even after its last key
is revoked, until an admin unlocks it explicitly: revoking a key must never open the door.
"""

from __future__ import annotations

import asyncio
import enum
import hmac
from datetime import datetime

from engine.domain.access import ApiKey, Caller, Scope, key_hash
from engine.logs import Repeats
from engine.ports import OrderStore, StorageError

REFRESH_SECONDS = 0.5
UNLOCKED_AT = "keys_unlocked_at"  # the engine value `keys unlock` writes


class KeyMode(enum.Enum):
    OPEN = "open"  # no key was ever made: loopback callers need none
    KEYS = "keys"  # every request needs a key
    LOCKED = "locked"  # keys were revoked, none is active: nobody gets in until `keys unlock`


def mode_of(keys: list[ApiKey], unlocked_at: datetime | None) -> KeyMode:
    if any(key.active for key in keys):
        return KeyMode.KEYS
    changed = [moment for key in keys for moment in (key.created_at, key.revoked_at) if moment]
    if changed and (unlocked_at is None or max(changed) > unlocked_at):
        return KeyMode.LOCKED
    return KeyMode.OPEN


class KeyRing:
    def __init__(self, store: OrderStore) -> None:
        self._store = store
        self._by_hash: dict[str, ApiKey] = {}
        self._scopes: dict[str, Scope] = {}
        self.mode = KeyMode.OPEN
        self._changed = asyncio.Event()

    @property
    def any_active(self) -> bool:
        """Whether every request needs a key (keys exist, or the store is locked)."""
        return self.mode is not KeyMode.OPEN

    def caller(self, secret: str) -> Caller | None:
        """The caller a presented key stands for, or None for an unknown or revoked key."""
        digest = key_hash(secret)
        key = self._by_hash.get(digest)
        # The dict lookup found it by hash; compare again in constant time all the same.
        if key is None or not hmac.compare_digest(key.hash, digest):
            return None
        return Caller(key.name, key.scope)

    def scope_of(self, name: str) -> Scope | None:
        """The scope of the active key of that name; None when it is revoked or unknown."""
        return self._scopes.get(name)

    async def changed(self) -> None:
        """Return at the next change of the keys (one created, revoked, or the lock)."""
        await self._changed.wait()

    async def refresh(self) -> None:
        keys = await self._store.api_keys()
        unlocked = await self._store.engine_value(UNLOCKED_AT)
        mode = mode_of(keys, datetime.fromisoformat(unlocked) if unlocked else None)
        scopes = {key.name: key.scope for key in keys if key.active}
        if (scopes, mode) != (self._scopes, self.mode):
            self._changed.set()
            self._changed = asyncio.Event()
        self._by_hash = {key.hash: key for key in keys if key.active}
        self._scopes, self.mode = scopes, mode

    async def run(self) -> None:
        """Refresh forever (a task of the app's lifecycle)."""
        failing = Repeats("API keys not refreshed", "API keys refreshed again")
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.refresh()
            except StorageError as error:  # keep the keys we know; try again next second
                failing.failed(error)
                continue
            failing.ended()

"""Who may call: the API keys the engine accepts, and the key mode."""

from __future__ import annotations

from engine.access.keyring import KeyMode, KeyRing
from engine.domain.access import Caller, Scope


class Access:
    def __init__(self, keyring: KeyRing) -> None:
        self._keyring = keyring

    def authenticate(self, secret: str) -> Caller | None:
        """The caller an API key stands for; None for an unknown or revoked key."""
        return self._keyring.caller(secret)

    @property
    def keys_required(self) -> bool:
        """Whether every request needs a key: keys exist, or were revoked and not unlocked."""
        return self._keyring.any_active

    @property
    def key_mode(self) -> KeyMode:
        return self._keyring.mode

    def scope_of(self, name: str) -> Scope | None:
        """The scope of the active key of that name; None once it is revoked."""
        return self._keyring.scope_of(name)

    async def keys_changed(self) -> None:
        """Return at the next change of the keys."""
        await self._keyring.changed()

    async def follow_changes(self) -> None:
        """Follow key changes made while running (a task: it never returns)."""
        await self._keyring.run()

    async def reload(self) -> None:
        """Read the keys now (after `keys create` or `keys revoke`, in tests)."""
        await self._keyring.refresh()

"""Who is calling, and what they may do: API keys, their scopes, and the orders they own."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Scope(StrEnum):
    READ = "read"  # GET and subscribe: its own orders
    TRADE = "trade"  # also submit and cancel its own orders
    ADMIN = "admin"  # also the simulated market's controls, and everyone's orders

    def allows(self, needed: Scope) -> bool:
        return RANK[self] >= RANK[needed]


RANK = {Scope.READ: 0, Scope.TRADE: 1, Scope.ADMIN: 2}
KEY_PREFIX = "oek_"  # recognisable in a leaked file or a secret scanner


def key_hash(secret: str) -> str:
    """What the store keeps of a key: keys are 256 random bits, so a plain SHA-256 suffices."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    name: str
    hash: str
    scope: Scope
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class Caller:
    """The key a request came with (`name`), or None: a local client while no key exists."""

    name: str | None
    scope: Scope

    def sees(self, owner: str | None) -> bool:
        """Whether this caller may see (and, with TRADE, cancel) an order with this owner."""
        return self.scope is Scope.ADMIN or self.name is None or owner == self.name

    @property
    def owner_filter(self) -> str | None:
        """The owner to restrict lists and the firehose to; None: everything."""
        return None if self.scope is Scope.ADMIN or self.name is None else self.name


LOCAL = Caller(None, Scope.ADMIN)  # loopback, no key created yet: the two-command start

"""Rate limits: a token bucket per caller, and a sliding count per minute."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from engine.domain.errors import Refused


class RateLimited(Refused):
    """Too many requests: come back after `retry_after` seconds."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up."""

    rate: float
    burst: float
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float) -> float:
        """0 when a token was taken; else the seconds until one is available."""
        if self.tokens < 0:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate if self.rate > 0 else 60.0


def key_holder(name: str) -> str:
    """The bucket of an API key's requests (a keyless caller's is its address's)."""
    return f"key {name}"


def address_holder(address: str) -> str:
    return f"address {address}"


@dataclass
class Buckets:
    """One bucket per caller name, forgotten once full again (no map that grows forever)."""

    rate: float
    burst: float
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def admit(self, name: str, now: float) -> None:
        bucket = self._buckets.setdefault(name, TokenBucket(self.rate, self.burst))
        wait = bucket.take(now)
        if len(self._buckets) > 10_000:  # drop the ones that are full (idle callers)
            self._buckets = {k: b for k, b in self._buckets.items()
                             if b.tokens + (now - b.updated) * b.rate < b.burst}
        if wait:
            raise RateLimited(f"more than {self.rate:g} requests a second", wait)

    @property
    def enabled(self) -> bool:
        return self.rate > 0


@dataclass
class PerMinute:
    """At most `limit` events in any 60 s."""

    limit: int
    _times: deque[float] = field(default_factory=deque)

    def admit(self, now: float, what: str) -> None:
        while self._times and self._times[0] <= now - 60:
            self._times.popleft()
        if len(self._times) >= self.limit:
            raise RateLimited(f"more than {self.limit} {what} a minute",
                              self._times[0] + 60 - now)
        self._times.append(now)

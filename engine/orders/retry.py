"""How often, and after how long, a transiently failed order is tried again."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts in total (not retries) and an exponential backoff, scaled with the simulation."""

    max_attempts: int = 3
    base: float = 0.5
    cap: float = 2.0
    scale: float = 1.0

    def backoff(self, attempt: int) -> float:
        """Delay after failed attempt n: 0.5 s, 1 s, 2 s (cap), times `scale`."""
        return min(self.base * 2.0 ** (attempt - 1), self.cap) * self.scale

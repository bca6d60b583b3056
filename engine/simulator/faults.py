"""Scripted misfortune for the simulation: what a test or a bot author wants to go wrong."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from engine.domain.errors import (
    BlockhashNotFound,
    NodeUnhealthy,
    RateLimited,
    SendTimeout,
    TransientError,
)

RANDOM_TRANSIENTS: tuple[type[TransientError], ...] = (RateLimited, NodeUnhealthy,
                                                       BlockhashNotFound, SendTimeout)


def random_transient(rng: random.Random, rate: float) -> type[TransientError] | None:
    """The node's unscripted misfortune: at `rate`, one of the transient failures a busy node
    answers (a send that times out is delivered all the same)."""
    return rng.choice(RANDOM_TRANSIENTS) if rng.random() < rate else None


@dataclass
class _Rule:
    attempt: int | None
    order_id: str | None
    remaining: int

    def matches(self, order_id: str, attempt: int) -> bool:
        return (self.remaining != 0 and (self.attempt is None or self.attempt == attempt)
                and (self.order_id is None or self.order_id == order_id))


@dataclass
class Faults:
    """Rules consulted by the simulated chain; each fires `times` times (-1 = forever)."""

    _sends: list[tuple[_Rule, type[TransientError]]] = field(default_factory=list)
    _slippage: list[_Rule] = field(default_factory=list)
    _timeouts: list[_Rule] = field(default_factory=list)
    _drops: list[_Rule] = field(default_factory=list)

    def fail_send(self, error: type[TransientError], *, attempt: int | None = None,
                  order_id: str | None = None, times: int = 1) -> None:
        """Make sendTransaction raise `error` for matching attempts."""
        self._sends.append((_Rule(attempt, order_id, times), error))

    def force_slippage(self, *, order_id: str | None = None, attempt: int | None = None,
                       times: int = 1) -> None:
        """Make the next matching swap fill below its minimum, as a moving market would."""
        self._slippage.append(_Rule(attempt, order_id, times))

    def timeout_after_landing(self, *, order_id: str | None = None, attempt: int | None = None,
                              times: int = 1) -> None:
        """The dangerous case: the transaction is delivered and lands, but the send times out."""
        self._timeouts.append(_Rule(attempt, order_id, times))

    def drop(self, *, order_id: str | None = None, attempt: int | None = None,
             times: int = 1) -> None:
        """The send is accepted but the transaction never lands (lost by the leader)."""
        self._drops.append(_Rule(attempt, order_id, times))

    def send_error(self, order_id: str, attempt: int) -> type[TransientError] | None:
        for rule, error in self._sends:
            if rule.matches(order_id, attempt):
                rule.remaining -= 1
                return error
        return None

    def slips(self, order_id: str, attempt: int) -> bool:
        return _fire(self._slippage, order_id, attempt)

    def times_out(self, order_id: str, attempt: int) -> bool:
        return _fire(self._timeouts, order_id, attempt)

    def drops(self, order_id: str, attempt: int) -> bool:
        return _fire(self._drops, order_id, attempt)


def _fire(rules: list[_Rule], order_id: str, attempt: int) -> bool:
    for rule in rules:
        if rule.matches(order_id, attempt):
            rule.remaining -= 1
            return True
    return False

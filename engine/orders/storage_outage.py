"""What the store refused, and when to try it again.

Soon at first (a lock, a blip), then less and less often (a full disk, a database away): an
order's retries pause from 50 ms, doubling, to 2 s at most. Each is said in the log at the first
failure and then only when the count of failures in a row reaches a power of two, so that an
hour of outage is a dozen lines an order, not one a try: at zero latency the retries had no
pause at all, spun a core, and wrote a megabyte of log a second. The health check reads it: while
an order waits on the store, the engine says so."""

from __future__ import annotations

from dataclasses import dataclass

FIRST_PAUSE = 0.05
LONGEST_PAUSE = 2.0


@dataclass(frozen=True)
class Retry:
    pause: float  # seconds before trying again
    failures: int  # in a row, this one included
    say: bool  # log it: the first failure, or one that doubles the count


class StorageOutage:
    def __init__(self, first_pause: float = FIRST_PAUSE,
                 longest_pause: float = LONGEST_PAUSE) -> None:
        self._first, self._longest = first_pause, longest_pause
        self._failures: dict[str, int] = {}  # order id -> failures in a row
        self._refusals = 0  # submissions refused in a row
        self._refusing = False  # the store's last word was the refusal of a new order
        self._error = ""  # the latest failure's words

    def failed(self, order_id: str, error: Exception) -> Retry:
        """A write (or the read before one) of this order failed: when to try again."""
        count = self._failures[order_id] = self._failures.get(order_id, 0) + 1
        self._error = str(error)
        return Retry(min(self._first * 2 ** min(count - 1, 32), self._longest), count,
                     _doubled(count))

    def stored(self, order_id: str) -> int:
        """The order's writes went through: how many failures in a row that ends (0: none).
        One that had failed going through says the store takes writes again, new orders too."""
        failures = self._failures.pop(order_id, 0)
        if failures:
            self._refusing = False
        return failures

    def refused(self, error: Exception) -> Retry:
        """A new order could not be stored (its client is told 503 and may send it again)."""
        self._refusals += 1
        self._refusing, self._error = True, str(error)
        return Retry(0.0, self._refusals, _doubled(self._refusals))

    def accepted(self) -> int:
        """A new order was stored: how many refusals in a row that ends (0: none)."""
        refusals, self._refusals, self._refusing = self._refusals, 0, False
        return refusals

    @property
    def awaiting(self) -> int:
        """Orders whose last write (or read before one) failed, to be tried again."""
        return len(self._failures)

    def problems(self) -> list[str]:
        said = []
        if self._failures:
            waiting = len(self._failures)
            said.append(f"storage failing ({self._error}): {waiting} "
                        f"{'order waits' if waiting == 1 else 'orders wait'} to be stored, "
                        f"tried again at least every {self._longest:g} s")
        if self._refusing:  # until a write goes through again
            said.append(f"storage failing ({self._error}): the last {self._refusals} new "
                        f"{'order was' if self._refusals == 1 else 'orders were'} refused")
        return said


def _doubled(count: int) -> bool:
    return count & (count - 1) == 0

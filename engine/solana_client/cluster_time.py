"""The cluster's time as a reader last saw it: the newest slot a read or notification carried,
when (by our monotonic clock), and the cluster's unix time then (its Clock sysvar). From these,
the slot the cluster has likely reached by now, and the slot of a unix time."""

from __future__ import annotations

from engine.ports import Clock

SOLANA_SLOT_SECONDS = 0.4  # the protocol's target slot time


class ClusterTime:
    def __init__(self, clock: Clock, slot_seconds: float) -> None:
        self._clock, self._slot_seconds = clock, slot_seconds
        self.slot, self._seen = 0, 0.0
        self.unix = 0

    def saw(self, slot: int) -> None:
        """A read or notification from `slot` arrived now (notifications may come out of
        order: the newest slot is kept)."""
        self.slot, self._seen = max(self.slot, slot), self._clock.monotonic()

    def ticked(self, slot: int, unix: int) -> None:
        """The Clock sysvar was told (a validator writes it every slot): `unix` at `slot`,
        unless a newer slot has been seen already."""
        if slot >= self.slot:
            self.unix = unix
        self.saw(slot)

    def read(self, slot: int, unix: int | None) -> None:
        """A read answered at `slot`, with the Clock sysvar's unix time if it was read; one
        answered at a slot older than a notification already told changes nothing (its
        answer travelled apart from the notifications, and more slowly)."""
        if slot < self.slot:
            return
        self.slot, self._seen = slot, self._clock.monotonic()
        if unix is not None:
            self.unix = unix

    def slot_now(self) -> float:
        """The slot the cluster has likely reached, counting the slots since the last read."""
        if self._slot_seconds <= 0:
            return float("inf")  # no time passes: every read is already old
        return self.slot + (self._clock.monotonic() - self._seen) / self._slot_seconds

    def slot_at(self, unix: int) -> int:
        """The slot of a unix time (Raydium opens pools at a time, DLMM at a slot), from the
        Clock sysvar last read and Solana's 400 ms slots; 0 when either is unknown."""
        if not unix or not self.unix:
            return 0
        return self.slot - round((self.unix - unix) / SOLANA_SLOT_SECONDS)

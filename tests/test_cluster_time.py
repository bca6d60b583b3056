"""The cluster's time as a venue last saw it: the newest slot told or read wins, and the unix
time that goes with it (a quote is reckoned at it: DLMM's fee depends on it)."""

from __future__ import annotations

from engine.solana_client.cluster_time import ClusterTime
from engine.testing import ManualClock


def test_the_clock_told_each_slot_is_the_time_a_quote_is_reckoned_at() -> None:
    time = ClusterTime(ManualClock(), 0.4)
    time.read(10, 1_000)
    time.ticked(11, 1_001)
    assert (time.slot, time.unix) == (11, 1_001)


def test_a_read_answered_at_an_older_slot_than_the_clock_told_changes_nothing() -> None:
    time = ClusterTime(ManualClock(), 0.4)
    time.ticked(12, 1_002)
    time.read(11, 1_001)  # its answer came after the notification of the next slot
    assert (time.slot, time.unix) == (12, 1_002)
    time.read(13, 1_003)
    assert (time.slot, time.unix) == (13, 1_003)


def test_a_clock_told_late_does_not_turn_the_time_back() -> None:
    time = ClusterTime(ManualClock(), 0.4)
    time.ticked(12, 1_002)
    time.ticked(11, 1_001)
    assert (time.slot, time.unix) == (12, 1_002)


async def test_the_slot_reached_by_now_counts_the_slots_since_the_last_one_seen() -> None:
    clock = ManualClock()
    time = ClusterTime(clock, 0.4)
    time.read(10, 1_000)
    await clock.advance(2.0)
    assert time.slot_now() == 15

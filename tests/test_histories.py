"""The latest orders' histories, kept in memory as this process publishes their events, so that a
stream opened at once reads no store. Only a whole history is ever served: from the first event,
without a gap; anything else is left to the store."""

from __future__ import annotations

from test_hub import event

from engine.domain.events import StoredEvent
from engine.publishing.histories import Histories
from engine.publishing.hub import Hub


def published(*seqs: int, order_id: str = "o") -> Histories:
    histories = Histories(max_orders=4, max_events=8)
    for n in seqs:
        histories.add(event(n, order_id)[1])
    return histories


def seqs(found: list[StoredEvent] | None) -> list[int] | None:
    return None if found is None else [e.seq for e in found]


def test_a_history_seen_from_its_first_event_is_served_after_any_position() -> None:
    histories = published(1, 2, 3)
    assert seqs(histories.after("o", 0)) == [1, 2, 3]
    assert seqs(histories.after("o", 2)) == [3]
    assert seqs(histories.after("o", 3)) == []


def test_a_history_first_seen_in_its_middle_is_left_to_the_store() -> None:
    assert published(2, 3).after("o", 0) is None


def test_a_gap_or_a_repeat_leaves_the_history_to_the_store() -> None:
    assert published(1, 2, 4).after("o", 0) is None
    assert published(1, 2, 2).after("o", 0) is None
    assert published(1, 2, 4, 5).after("o", 0) is None  # and it is not taken up again


def test_a_long_life_is_left_to_the_store() -> None:
    assert published(*range(1, 9)).after("o", 0) is not None  # eight: the most kept
    assert published(*range(1, 10)).after("o", 0) is None


def test_only_the_latest_orders_are_kept() -> None:
    histories = Histories(max_orders=2)
    for order_id in ("a", "b", "c"):
        histories.add(event(1, order_id)[1])
    assert histories.after("a", 0) is None
    assert seqs(histories.after("c", 0)) == [1]


def test_an_event_another_process_committed_leaves_its_orders_history_to_the_store() -> None:
    hub = Hub()
    hub.publish(*event(1))
    hub.publish(*event(2))
    hub.deliver(event(3)[1])  # the relay: another process took the order over
    hub.publish(*event(4))
    assert hub.histories.after("o", 0) is None

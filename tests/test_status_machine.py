"""The transition table is the only way status changes."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from stubs import change_to, new_order, plan

from engine.domain.events import Armed, Filled, PriceUpdated, Routed
from engine.domain.status import TERMINAL, TRANSITIONS, IllegalTransition, OrderStatus, check

S = OrderStatus
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_happy_path_is_allowed() -> None:
    path = [S.PENDING, S.ROUTING, S.BUILDING, S.SUBMITTED, S.CONFIRMED]
    for current, target in itertools.pairwise(path):
        check(current, target)


def test_a_retry_goes_from_submitted_back_to_building() -> None:
    check(S.SUBMITTED, S.BUILDING)


@pytest.mark.parametrize("current", [s for s in S if s not in TERMINAL])
def test_every_live_status_can_fail(current: OrderStatus) -> None:
    check(current, S.FAILED)


@pytest.mark.parametrize("current,target", [
    (c, t) for c in S for t in S if t not in TRANSITIONS[c]])
def test_every_transition_outside_the_table_is_refused(current: OrderStatus,
                                                       target: OrderStatus) -> None:
    with pytest.raises(IllegalTransition, match=f"{current.value} -> {target.value}"):
        check(current, target)


def test_terminal_statuses_are_confirmed_failed_expired_cancelled_and_partially_filled() -> None:
    assert {S.CONFIRMED, S.FAILED, S.EXPIRED, S.CANCELLED, S.PARTIALLY_FILLED} == TERMINAL


def test_only_a_waiting_order_can_end_partially_filled() -> None:
    """A TWAP parent, whose schedule ran out with part of its amount unsold."""
    assert {s for s in S if S.PARTIALLY_FILLED in TRANSITIONS[s]} == {S.WAITING}


def test_only_orders_not_yet_executing_can_be_cancelled() -> None:
    assert {s for s in S if S.CANCELLED in TRANSITIONS[s]} == {S.PENDING, S.WAITING}


def test_waiting_updates_are_the_only_self_transition() -> None:
    assert [s for s in S if s in TRANSITIONS[s]] == [S.WAITING]


def test_apply_numbers_events_and_keeps_the_old_order_unchanged() -> None:
    order = new_order()
    routed, event = order.apply(Routed(plan("raydium"), Decimal("149.62")), NOW)
    assert (order.status, order.seq, order.route) == (S.PENDING, 1, None)
    assert (routed.status, routed.seq, event.seq, event.status) == (S.ROUTING, 2, 2, S.ROUTING)
    assert routed.route is not None and routed.route.venue == "raydium"


def test_apply_refuses_skipping_steps() -> None:
    with pytest.raises(IllegalTransition):
        new_order().apply(change_to(S.CONFIRMED), NOW)


def test_a_fill_is_kept_on_the_order_it_confirms() -> None:
    order = new_order()
    for status in (S.ROUTING, S.BUILDING, S.SUBMITTED, S.CONFIRMED):
        order, event = order.apply(change_to(status), NOW)
    assert isinstance(event.change, Filled) and order.fill == event.change.fill


def test_a_price_update_needs_a_waiting_order_and_moves_no_status() -> None:
    waiting, _ = new_order().apply(Armed("armed"), NOW)
    updated, event = waiting.apply(PriceUpdated(Decimal("150")), NOW)
    assert (updated.status, event.seq) == (S.WAITING, 3)
    with pytest.raises(IllegalTransition):
        new_order().apply(PriceUpdated(Decimal("150")), NOW)

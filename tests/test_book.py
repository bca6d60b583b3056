"""A pair's book of waiting orders: each waits where its type says, and a price finds exactly
the orders it may fire, whatever else waits beside them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from stubs import token

from engine.domain.events import Armed
from engine.domain.order import Order
from engine.domain.parsing import parse_order
from engine.orders.book import Book

AT = datetime(2026, 1, 1, tzinfo=UTC)


def waiting(order_id: str, **body: Any) -> Order:
    request = parse_order({"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, **body}, AT)
    order, _ = Order.accept(order_id, request, AT)
    return order.apply(Armed("armed"), AT)[0]


def book_of(*orders: Order) -> Book:
    book = Book(token("SOL"), token("USDC"))
    for order in orders:
        book.place(order)
    return book


def test_a_limit_is_reached_once_the_price_rises_to_it_and_not_before() -> None:
    book = book_of(waiting("limit", orderType="limit", limitPrice="155"))
    assert book.reached(Decimal("154.99"), Decimal("154.99")) == []
    assert book.reached(Decimal("155"), Decimal("155")) == ["limit"]


def test_a_stop_is_reached_once_the_lower_bound_falls_to_it() -> None:
    book = book_of(waiting("stop", orderType="stop", triggerPrice="140"))
    assert book.reached(Decimal("141"), Decimal("140.01")) == []
    assert book.reached(Decimal("141"), Decimal("140")) == ["stop"]


def test_only_the_ends_a_price_reaches_are_candidates_in_the_order_of_their_levels() -> None:
    book = book_of(*(waiting(f"limit-{p}", orderType="limit", limitPrice=p)
                     for p in ("160", "150", "155")),
                   *(waiting(f"stop-{p}", orderType="stop", triggerPrice=p)
                     for p in ("130", "145", "140")))
    assert book.reached(Decimal("156"), Decimal("141")) == ["limit-150", "limit-155", "stop-145"]


def test_a_bracket_waits_on_both_sides_and_is_reached_once() -> None:
    bracket = waiting("bracket", orderType="bracket", takeProfitPrice="170", stopPrice="130")
    book = book_of(bracket)
    assert (len(book.rises), len(book.falls)) == (1, 1)
    assert book.reached(Decimal("150"), Decimal("150")) == []
    assert book.reached(Decimal("171"), Decimal("171")) == ["bracket"]
    assert book.reached(Decimal("129"), Decimal("129")) == ["bracket"]
    assert book.reached(Decimal("171"), Decimal("129")) == ["bracket"]  # both ends: once


def test_a_trailing_stop_is_kept_apart_with_its_mark_and_never_a_level_candidate() -> None:
    trailing = waiting("trailing", orderType="trailing_stop", trail="0.05")
    book = book_of(trailing)
    assert book.trailing == {"trailing": None} and book.rises == book.falls == []
    assert book.reached(Decimal(10**6), Decimal(0)) == []
    assert book.waiting


def test_an_order_unplaced_is_gone_from_every_place_it_waited() -> None:
    bracket = waiting("bracket", orderType="bracket", takeProfitPrice="170", stopPrice="130")
    trailing = waiting("trailing", orderType="trailing_stop", trail="0.05")
    book = book_of(bracket, trailing)
    book.unplace(bracket)
    book.unplace(trailing)
    assert book.rises == book.falls == [] and book.trailing == {} and not book.waiting

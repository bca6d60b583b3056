"""Order rows <-> domain orders: the columns, and the JSON (in the API's shapes) some hold."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from engine.domain.order import Order, OrderRequest, OrderType, Trigger
from engine.domain.request import SwapMode
from engine.domain.schedule import Schedule
from engine.domain.status import OrderStatus
from engine.domain.tokens import Token, lookup, unlisted
from engine.wire import (
    failure_from_json,
    failure_json,
    fill_from_json,
    fill_json,
    iso,
    parse_time,
    plan_from_json,
    plan_json,
    progress_from_json,
    progress_to_json,
    tx_from_json,
    tx_json,
)

COLUMNS = ("id, order_type, mint_in, decimals_in, mint_out, decimals_out, amount, slippage, "
           "status, seq, attempts, created_at, updated_at, route, tx, fill, error, progress, "
           "trigger_price, expires_at, owner, trail, high_water, stop_price, swap_mode, "
           "slices, interval_seconds, parent, priority_fee")
PLACEHOLDERS = ", ".join("?" * (COLUMNS.count(",") + 1))


LEARNED = ("route", "tx", "fill", "error", "progress")


def learned(order: Order, only: str | None = None) -> tuple[bytes | None, ...]:
    """The route, transaction, fill, error and progress columns, as JSON in the API's shapes;
    with `only`, that one column and None for the others (which a write then leaves as they
    are: each is learned by one kind of event, and re-serialising a route at every step
    would be most of the write's cost)."""
    r = order.request

    def wanted(column: str) -> bool:
        return only is None or only == column

    return (None if order.route is None or not wanted("route")
            else orjson.dumps(plan_json(order.route)),
            None if order.tx is None or not wanted("tx") else orjson.dumps(tx_json(order.tx)),
            None if order.fill is None or not wanted("fill")
            else orjson.dumps(fill_json(order.fill, r)),
            None if order.error is None or not wanted("error")
            else orjson.dumps(failure_json(order.error)),
            None if order.progress is None or not wanted("progress")
            else orjson.dumps(progress_to_json(order.progress)))


def row(order: Order) -> tuple[Any, ...]:
    """The values of COLUMNS for a new order."""
    r = order.request
    return (order.id, r.order_type.value, r.token_in.mint, r.token_in.decimals, r.token_out.mint,
            r.token_out.decimals, r.amount, str(r.slippage), order.status.value, order.seq,
            order.attempts, iso(order.created_at), iso(order.updated_at), *learned(order),
            *_trigger_columns(r.trigger), order.owner, text(r.trigger.trail if r.trigger else None),
            text(order.high_water), text(r.trigger.stop if r.trigger else None),
            r.swap_mode.value, r.schedule.slices if r.schedule else None,
            r.schedule.interval if r.schedule else None, order.parent,
            None if r.priority_fee is None else str(r.priority_fee))


def text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _trigger_columns(trigger: Trigger | None) -> tuple[str | None, str | None]:
    if trigger is None:
        return None, None
    expires = iso(trigger.expires_at) if trigger.expires_at else None
    return text(trigger.price), expires


def _token(mint: str, decimals: int) -> Token:
    return lookup(mint) or unlisted(mint, decimals)


def order_of(values: Any) -> Order:
    """The order a row of COLUMNS holds."""
    (oid, kind, mint_in, dec_in, mint_out, dec_out, amount, slippage, status, seq, attempts,
     created, updated, route, tx, fill, error, progress, price, expires, owner, trail,
     high_water, stop, mode, slices, interval, parent, priority) = values
    order_type = OrderType(kind)
    trigger = None
    if order_type is not OrderType.MARKET:
        trigger = Trigger(None if price is None else Decimal(price),
                          parse_time(expires) if expires else None,
                          None if trail is None else Decimal(trail),
                          None if stop is None else Decimal(stop))
    r = OrderRequest(order_type, _token(mint_in, dec_in), _token(mint_out, dec_out),
                     int(amount), Decimal(slippage), trigger, SwapMode(mode),
                     None if slices is None else Schedule(slices, interval),
                     int(priority) if priority and priority.isdigit() else priority)
    return Order(oid, r, OrderStatus(status), seq, parse_time(created), parse_time(updated),
                 attempts,
                 None if route is None else plan_from_json(orjson.loads(route), r.token_in.mint,
                                                           r.token_out.mint),
                 None if tx is None else tx_from_json(orjson.loads(tx)),
                 None if fill is None else fill_from_json(orjson.loads(fill), r),
                 None if error is None else failure_from_json(orjson.loads(error)), owner,
                 None if high_water is None else Decimal(high_water),
                 None if progress is None else progress_from_json(orjson.loads(progress)),
                 parent)

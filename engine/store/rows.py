"""Order rows <-> domain orders: the columns by name; an order type's terms are its own
record (`OrderType.record`), and what the order learned the store's records (`records`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

from engine.domain.order import Order, OrderRequest
from engine.domain.order_types import order_type_of
from engine.domain.request import SwapMode
from engine.domain.status import OrderStatus
from engine.domain.tokens import Token, lookup, unlisted
from engine.store.records import (
    failure_of,
    failure_record,
    fill_of,
    fill_record,
    iso,
    parse_time,
    plan_of,
    plan_record,
    progress_of,
    progress_record,
    tx_of,
    tx_record,
)

NAMES = ("id", "order_type", "terms", "mint_in", "decimals_in", "mint_out", "decimals_out",
         "amount", "slippage", "swap_mode", "priority_fee", "expires_at", "status", "seq",
         "attempts", "created_at", "updated_at", "route", "tx", "fill", "error", "progress",
         "owner", "mark", "parent")
COLUMNS = ", ".join(NAMES)
PLACEHOLDERS = ", ".join("?" * len(NAMES))


LEARNED = ("route", "tx", "fill", "error", "progress")


def learned(order: Order, only: str | None = None) -> tuple[bytes | None, ...]:
    """The route, transaction, fill, error and progress columns, as the store's records;
    with `only`, that one column and None for the others (which a write then leaves as they
    are: each is learned by one kind of event, and re-serialising a route at every step
    would be most of the write's cost)."""
    def wanted(column: str) -> bool:
        return only is None or only == column

    return (None if order.route is None or not wanted("route")
            else orjson.dumps(plan_record(order.route)),
            None if order.tx is None or not wanted("tx") else orjson.dumps(tx_record(order.tx)),
            None if order.fill is None or not wanted("fill")
            else orjson.dumps(fill_record(order.fill)),
            None if order.error is None or not wanted("error")
            else orjson.dumps(failure_record(order.error)),
            None if order.progress is None or not wanted("progress")
            else orjson.dumps(progress_record(order.progress)))


def row(order: Order) -> tuple[Any, ...]:
    """The values of COLUMNS for a new order."""
    r = order.request
    values = {
        "id": order.id, "order_type": r.order_type.name,
        "terms": orjson.dumps(r.order_type.record()), "mint_in": r.token_in.mint,
        "decimals_in": r.token_in.decimals, "mint_out": r.token_out.mint,
        "decimals_out": r.token_out.decimals, "amount": r.amount, "slippage": str(r.slippage),
        "swap_mode": r.swap_mode.value,
        "priority_fee": None if r.priority_fee is None else str(r.priority_fee),
        "expires_at": iso(r.expires_at) if r.expires_at else None,
        "status": order.status.value, "seq": order.seq, "attempts": order.attempts,
        "created_at": iso(order.created_at), "updated_at": iso(order.updated_at),
        **dict(zip(LEARNED, learned(order), strict=True)),
        "owner": order.owner, "mark": text(order.mark), "parent": order.parent}
    return tuple(values[name] for name in NAMES)


def text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _token(mint: str, decimals: int) -> Token:
    return lookup(mint) or unlisted(mint, decimals)


def order_of(values: Sequence[Any]) -> Order:
    """The order a row of COLUMNS holds."""
    c = dict(zip(NAMES, values, strict=True))
    priority = c["priority_fee"]
    r = OrderRequest(order_type_of(c["order_type"], orjson.loads(c["terms"])),
                     _token(c["mint_in"], c["decimals_in"]),
                     _token(c["mint_out"], c["decimals_out"]), int(c["amount"]),
                     Decimal(c["slippage"]),
                     parse_time(c["expires_at"]) if c["expires_at"] else None,
                     SwapMode(c["swap_mode"]),
                     int(priority) if priority and priority.isdigit() else priority)
    route, tx, fill, error, progress = (c[name] for name in LEARNED)
    return Order(c["id"], r, OrderStatus(c["status"]), c["seq"], parse_time(c["created_at"]),
                 parse_time(c["updated_at"]), c["attempts"],
                 None if route is None else plan_of(orjson.loads(route), r.token_in.mint,
                                                    r.token_out.mint),
                 None if tx is None else tx_of(orjson.loads(tx)),
                 None if fill is None else fill_of(orjson.loads(fill), r.token_in, r.token_out),
                 None if error is None else failure_of(orjson.loads(error)), c["owner"],
                 None if c["mark"] is None else Decimal(c["mark"]),
                 None if progress is None else progress_of(orjson.loads(progress)),
                 c["parent"])

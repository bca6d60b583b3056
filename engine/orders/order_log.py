"""What the log says of an order's routing decision and of its fill: one line each, every
amount in its token, so that an operator reads the order's story without the API."""

from __future__ import annotations

from loguru import logger

from engine.domain.events import Fill
from engine.domain.order import Order
from engine.domain.routing import RoutePlan


def routed(order: Order, plan: RoutePlan) -> None:
    """The venues compared, why the plan won, and its legs' shares."""
    r = order.request
    logger.bind(order_id=order.id).info(
        "routing {}: {} | quotes {} | plan {}",
        f"{r.token_in.symbol} -> {r.token_out.format(r.amount)} {r.token_out.symbol}"
        if plan.exact_out else
        f"{r.token_in.format(r.amount)} {r.token_in.symbol} -> {r.token_out.symbol}",
        plan.reason,
        ", ".join(f"{q.venue}={r.token_in.format(q.amount_in)} {r.token_in.symbol} in"
                  if plan.exact_out else
                  f"{q.venue}={r.token_out.format(q.amount_out)} {r.token_out.symbol}"
                  for q in plan.quotes),
        ", ".join(f"{plan.percent(leg)}% {leg.venue}" for leg in plan.legs))


def filled(order: Order, fill: Fill) -> None:
    r = order.request
    logger.bind(order_id=order.id).info(
        "confirmed {} {} -> {} {} on {} in slot {} (tx {})",
        r.token_in.format(fill.amount_in), r.token_in.symbol,
        r.token_out.format(fill.amount_out), r.token_out.symbol, fill.venue, fill.slot,
        fill.signature)

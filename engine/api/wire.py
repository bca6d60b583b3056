"""The API's JSON shapes of orders and events: where typed values become the API's dicts.

An event is rendered once, when it is stored (the store is given `EVENTS` and keeps the bytes
without reading them); every stream sends those bytes as they are. The store keeps its own
records of orders (`engine.store.records`): nothing here is read back into an order.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from engine.domain.events import (
    Accepted,
    Armed,
    Cancelled,
    Change,
    Expired,
    Failed,
    Failure,
    Fill,
    Filled,
    OrderEvent,
    PartiallyFilled,
    PriceUpdated,
    Routed,
    ScheduleDone,
    Sent,
    Signed,
    SliceDone,
    SliceSent,
    SliceSkipped,
    StoredEvent,
    TriggerMoved,
)
from engine.domain.order import Order, OrderRequest
from engine.domain.order_types import (
    Bracket,
    Limit,
    OrderType,
    Sniper,
    Stop,
    StopLimit,
    TrailingStop,
    Twap,
)
from engine.domain.routing import Quote, RoutePlan
from engine.domain.status import OrderStatus

Json = dict[str, Any]


def iso(at: datetime) -> str:
    """ISO-8601 UTC with milliseconds and a Z, as every timestamp in the API."""
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def price_text(price: Decimal) -> str:
    """Twelve significant digits, never in exponent notation: a launched token's price in
    SOL reads 0.000000123456, not 1.23456e-7."""
    text = f"{price:.12g}"
    if "e" not in text.lower():
        return text
    plain = f"{price:.{max(0, 11 - price.adjusted())}f}"
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


# -- events ----------------------------------------------------------------------------------
def event_body(order: Order, event: OrderEvent, gseq: int) -> bytes:
    """The event's JSON, as stored and streamed; `order` is the order after the event."""
    body: Json = {"orderId": event.order_id, "seq": event.seq, "gseq": gseq,
                  "status": event.status.value, "at": iso(event.at),
                  **_details(order, event.change)}
    if event.resumed:
        body["resumed"] = True
    return orjson.dumps(body)


def stored_event(body: bytes, owner: str | None) -> StoredEvent:
    """An event read back from the store: its positions and status, and its bytes untouched."""
    data = orjson.loads(body)
    return StoredEvent(data["orderId"], data["seq"], data.get("gseq", 0),
                       OrderStatus(data["status"]), body, owner)


class ApiEvents:
    """The store's `EventCodec`: events in the API's shape."""

    body = staticmethod(event_body)
    stored = staticmethod(stored_event)


EVENTS = ApiEvents()


def _details(order: Order, change: Change) -> Json:
    r = order.request
    match change:
        case Accepted():
            return {**summary(r), **({"parentId": order.parent} if order.parent else {})}
        case Armed(reason=reason, current_price=price, error=error):
            out = {**_terms(r), **_moved(order), "reason": reason}
            if price is not None:
                out["currentPrice"] = price_text(price)
            if error is not None:
                out["error"] = failure_json(error)
            return out
        case PriceUpdated(price=price):
            return {"currentPrice": price_text(price)}
        case TriggerMoved():
            return _moved(order)
        case Routed(plan=plan, expected_price=price, leg=leg, previous_error=previous):
            bound = ({"expectedIn": r.token_in.format(plan.amount_in),
                      "maxAmountIn": r.token_in.format(r.max_in(plan.amount_in))}
                     if plan.exact_out else
                     {"expectedOut": r.token_out.format(plan.amount_out),
                      "minAmountOut": r.token_out.format(r.min_out(plan.amount_out))})
            return {"venue": plan.venue, "reason": plan.reason, "route": plan_json(plan),
                    **({"leg": leg} if leg else {}),
                    **({"previousError": failure_json(previous)} if previous else {}),
                    "expectedPrice": price_text(price), **bound}
        case Signed(attempt=attempt, tx=tx, previous_error=previous):
            out = {"attempt": attempt, "txHash": tx.signature,
                   "lastValidBlockHeight": tx.last_valid_height,
                   "instructions": _instructions(r, order.route)}
            if previous is not None:
                out["previousError"] = failure_json(previous)
            return out
        case Sent(attempt=attempt):
            return {"attempt": attempt, "txHash": order.tx.signature if order.tx else None}
        case Filled(fill=fill):
            return {"attempt": order.attempts, **fill_json(fill, r)}
        case Failed(error=error):
            return {"attempt": order.attempts, "error": failure_json(error)}
        case Cancelled(reason=reason) | Expired(reason=reason):
            # A TWAP parent ends with what its slices sold; a slice in flight finishes as its
            # own order, which is named so it can be followed.
            open_child = order.progress.open if order.progress else None
            return {"reason": reason, **progress_json(order),
                    **({"openChildId": open_child} if open_child else {})}
        case SliceSent(index=index, child=child, amount=amount):
            return {"slice": index + 1, "childId": child,
                    "amount": r.token_in.format(amount), **progress_json(order)}
        case SliceDone(index=index, child=child, child_status=status, amount_in=spent,
                       amount_out=got, child_error=error):
            return {"slice": index + 1, "childId": child, "childStatus": status.value,
                    "amountIn": r.token_in.format(spent), "amountOut": r.token_out.format(got),
                    **({"childError": failure_json(error)} if error is not None else {}),
                    **progress_json(order)}
        case SliceSkipped(index=index, reason=reason, current_price=price):
            return {"slice": index + 1, "reason": reason,
                    **({"currentPrice": price_text(price)} if price is not None else {}),
                    **progress_json(order)}
        case ScheduleDone():
            return progress_json(order)
        case PartiallyFilled(reason=reason):
            return {"reason": reason, **progress_json(order)}


def progress_json(order: Order) -> Json:
    """A TWAP parent's totals so far: sold, left, the average net price, its children."""
    progress, r = order.progress, order.request
    if progress is None or r.schedule is None:
        return {}
    average = (price_text(r.net_price(progress.filled_in, progress.filled_out))
               if progress.filled_in else None)
    return {"slicesSent": len(progress.children), "nextSlice": progress.next_slice + 1,
            "filled": r.token_in.format(progress.filled_in),
            "received": r.token_out.format(progress.filled_out),
            "remaining": r.token_in.format(r.amount - progress.filled_in),
            "averagePrice": average, "children": list(progress.children)}


def _instructions(r: OrderRequest, plan: RoutePlan | None) -> list[str]:
    """The transaction's instructions in words, so the trader sees the SOL wrapping."""
    steps = ["computeBudget.setComputeUnitPrice"]
    if r.token_in.is_native_sol:
        steps += ["createAssociatedTokenAccount(wSOL)", "system.transfer(SOL->wSOL)",
                  "token.syncNative(wSOL)"]
    elif r.token_out.is_native_sol:
        steps += ["createAssociatedTokenAccount(wSOL)"]
    steps += [f"{leg.venue}.swap({leg.pool})" for leg in (plan.legs if plan else ())]
    if r.token_in.is_native_sol or r.token_out.is_native_sol:
        steps += ["token.closeAccount(wSOL->SOL)"]
    return steps


# -- orders ----------------------------------------------------------------------------------
def summary(r: OrderRequest) -> Json:
    """What the first event and the API say about the request itself."""
    out = {"orderType": r.order_type.name, "tokenIn": r.token_in.symbol,
           "tokenOut": r.token_out.symbol, "inputMint": r.token_in.mint,
           "outputMint": r.token_out.mint, "amount": r.amount_token.format(r.amount),
           "swapMode": r.swap_mode.value, "slippage": str(r.slippage),
           "priorityFee": r.priority}
    return out | _terms(r)


def _terms(r: OrderRequest) -> Json:
    """The order type's own fields, in the request's names; a waiting type's expiry."""
    if not r.waits:
        return {}
    return {**_fields(r.order_type),
            "expiresAt": iso(r.expires_at) if r.expires_at else None}


def _fields(t: OrderType) -> Json:
    match t:
        case Limit(price=price):
            return {"limitPrice": str(price)}
        case Sniper(max_price=price):
            return {"maxPrice": None if price is None else str(price)}
        case Stop(price=price):
            return {"triggerPrice": str(price)}
        case TrailingStop(trail=trail):
            return {"trail": str(trail)}
        case Bracket(take_profit=take_profit, stop=stop):
            return {"takeProfitPrice": str(take_profit), "stopPrice": str(stop)}
        case StopLimit(trigger=trigger, limit=limit):
            return {"triggerPrice": str(trigger), "limitPrice": str(limit)}
        case Twap(schedule=schedule):
            return {"slices": schedule.slices, "intervalSeconds": schedule.interval,
                    "limitPrice": None if schedule.limit is None else str(schedule.limit)}
    return {}


def _moved(order: Order) -> Json:
    """Where a waiting order's mark has moved its trigger, once it has seen a price."""
    t, mark = order.request.order_type, order.mark
    if isinstance(t, TrailingStop) and mark is not None:
        return {"highWaterMark": price_text(mark), "triggerPrice": price_text(t.trigger(mark))}
    if isinstance(t, StopLimit) and mark is not None:  # now a limit order
        return {"triggeredAt": price_text(mark), "limitPrice": str(t.limit)}
    return {}


def order_json(order: Order) -> Json:
    """GET /api/orders/{id} (without its events) and the list's rows."""
    r = order.request
    return {"orderId": order.id, "status": order.status.value, **summary(r), **_moved(order),
            **progress_json(order), **({"parentId": order.parent} if order.parent else {}),
            "attempts": order.attempts, "createdAt": iso(order.created_at),
            "updatedAt": iso(order.updated_at),
            "route": plan_json(order.route) if order.route else None,
            "txHash": order.tx.signature if order.tx else None,
            "fill": fill_json(order.fill, r) if order.fill else None,
            "error": failure_json(order.error) if order.error else None}


def quote_json(q: Quote) -> Json:
    return {"venue": q.venue, "pool": q.pool, "label": q.label, "inputMint": q.mint_in,
            "outputMint": q.mint_out, "inAmount": str(q.amount_in),
            "outAmount": str(q.amount_out), "feeAmount": str(q.fee),
            "priceImpactPct": str(q.price_impact), "slot": q.slot,
            "poolOpenedSlot": q.opened_slot}


def plan_json(plan: RoutePlan) -> Json:
    return {"venue": plan.venue, "reason": plan.reason, "inAmount": str(plan.amount_in),
            "outAmount": str(plan.amount_out),
            "swapMode": "ExactOut" if plan.exact_out else "ExactIn",
            **({"via": plan.via} if plan.via else {}),
            "priceImpactPct": str(plan.price_impact),
            "legs": [{**quote_json(leg), "percent": plan.percent(leg)} for leg in plan.legs],
            "quotes": [quote_json(q) for q in plan.quotes]}


def executed_price(price: Decimal, decimals: int) -> str:
    """A fill's price to the output's decimals, or to nine significant digits where that
    says more: a launched token sold for a ten-billionth of a SOL is not "0.000000000"."""
    return f"{price:.{max(decimals, 8 - price.adjusted())}f}"


def fill_json(fill: Fill, r: OrderRequest) -> Json:
    price = r.net_price(fill.amount_in, fill.amount_out)
    out: Json = {"txHash": fill.signature, "slot": fill.slot, "venue": fill.venue,
                 "amountIn": r.token_in.format(fill.amount_in),
                 "amountOut": r.token_out.format(fill.amount_out),
                 "executedPrice": executed_price(price, r.token_out.decimals),
                 "networkFeeLamports": fill.fee_lamports, "commitment": fill.commitment,
                 "ataRentLamports": fill.rent_lamports}
    if fill.pool_opened_slot is not None:  # what snipers measure
        out |= {"poolOpenedSlot": fill.pool_opened_slot,
                "slotsAfterPoolOpened": fill.slot - fill.pool_opened_slot}
    return out


def failure_json(failure: Failure) -> Json:
    return {"code": failure.code, "message": failure.message}

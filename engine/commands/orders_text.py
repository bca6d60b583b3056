"""An order's events as terminal lines, and the calls the commands share: submit an order,
follow its stream. The exit codes every command uses."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import aiohttp

from engine.commands.reconnecting import PATIENCE, RETRY_EVERY, events, order_events

OK, ORDER_DID_NOT_FILL, REFUSED, UNREACHABLE, INTERRUPTED = 0, 1, 2, 3, 130
TERMINAL = frozenset({"confirmed", "partially_filled", "failed", "expired", "cancelled"})
# Refusals for now (503s but a halt, which the trader must hear of, and a rate limit): the
# engine says when to ask again, and `submit` does, with the same Idempotency-Key.
FOR_NOW = frozenset({"NODE_UNHEALTHY", "NODE_TIMEOUT", "OVERLOADED", "STORAGE_UNAVAILABLE",
                     "UNAVAILABLE", "RATE_LIMITED"})
COLOURS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m"]


def describe(event: dict[str, Any], order: dict[str, Any] | None = None) -> str:
    """One event as a line. `order` is the order's first (pending) event, which names its
    tokens: amounts are then shown with them, as a trader reads them."""
    status = event["status"]
    tokens = order or event
    sold, bought = (f" {tokens['tokenIn']}", f" {tokens['tokenOut']}") if "tokenIn" in tokens \
        else ("", "")
    per = f" {tokens['tokenOut']} per {tokens['tokenIn']}" if sold else ""
    if status == "pending":
        if event.get("swapMode") == "ExactOut":  # the amount counts what is bought
            return f"{event['orderType']}{sold} -> {event['amount']}{bought} (exact out)"
        return f"{event['orderType']} {event['amount']}{sold} ->{bought}"
    if "slice" in event:  # a TWAP parent's slice
        done = f"; sold {event['filled']}{sold}, {event['remaining']} left"
        if "childStatus" in event:
            error = event.get("childError")
            why = f" ({error['code']}: {error['message']})" if error else ""
            return f"slice {event['slice']} {event['childStatus']}{why}{done}"
        if "childId" in event:
            return (f"slice {event['slice']} sent: {event['amount']}{sold} as "
                    f"{event['childId'][:8]}")
        return f"slice {event['slice']} skipped: {event['reason']}"
    if status == "waiting":
        if "highWaterMark" in event:  # a trailing stop that moved its trigger
            return (f"best price {event['highWaterMark']}, now triggers at "
                    f"{event['triggerPrice']}")
        if "triggeredAt" in event and "reason" not in event:  # a stop-limit, triggered
            return (f"triggered at {event['triggeredAt']}: now a limit order at "
                    f"{event['limitPrice']}")
        if "currentPrice" in event:
            return str(event.get("reason") or f"current price {event['currentPrice']}")
        return str(event.get("reason") or "waiting")
    if status == "routing":
        expect = (f"at most {event['maxAmountIn']}{sold} in" if "maxAmountIn" in event
                  else f"expect {event['expectedOut']}{bought}")
        again = (f" (again, after {event['previousError']['code']})"
                 if "previousError" in event else "")
        return f"{event['venue']}{again}: {event['reason']}, {expect}"
    if status in ("building", "submitted"):
        after = (f" (after {event['previousError']['code']}: "
                 f"{event['previousError']['message']})" if "previousError" in event else "")
        return f"attempt {event['attempt']}{after} tx {str(event['txHash'])[:16]}..."
    if status in ("confirmed", "partially_filled") and "children" in event:
        return (f"sold {event['filled']}{sold} for {event['received']}{bought} (average "
                f"{event['averagePrice']}{per}) in {len(event['children'])} slices")
    if status == "confirmed":
        sniped = (f", {event['slotsAfterPoolOpened']} slots after the pool opened"
                  if "slotsAfterPoolOpened" in event else "")
        return (f"filled {event['amountIn']}{sold} -> {event['amountOut']}{bought} at "
                f"{event['executedPrice']}{per} on {event['venue']} "
                f"(slot {event['slot']}{sniped})")
    if status == "failed":
        return f"{event['error']['code']}: {event['error']['message']}"
    if "children" in event:  # a TWAP parent cancelled or expired: what it sold by then
        still = (f" (slice {event['openChildId'][:8]} still finishing as its own order)"
                 if "openChildId" in event else "")
        return (f"{event['reason']}; sold {event['filled']}{sold} for {event['received']}"
                f"{bought}, {event['remaining']} left{still}")
    return str(event.get("reason", ""))


async def follow(session: aiohttp.ClientSession, order_id: str, label: str = "",
                 started: float | None = None, colour: str = "",
                 seen: Callable[[str, str], None] | None = None,
                 patience: float = PATIENCE) -> str:
    """Print an order's events as they arrive; returns its final status (or the last seen,
    if the engine closed the stream for good: StreamEnded says why). Each line's time is
    `started`'s (a monotonic clock's reading, for orders shown side by side), or by default
    the order's own: since the engine accepted it, so a replayed history keeps its timing.
    `seen(order_id, status)` is told of each event, for a caller that acts on them. Across
    a restart of the engine it reads on (for up to `patience` seconds away)."""
    final, reset = "?", "\033[0m" if colour else ""
    accepted: datetime | None = None
    order: dict[str, Any] | None = None  # its pending event: the tokens amounts are in
    async for event in order_events(session, order_id, patience):
        final = event["status"]
        if started is not None:
            elapsed = time.monotonic() - started
        else:
            at = datetime.fromisoformat(event["at"])
            accepted = accepted or at
            elapsed = (at - accepted).total_seconds()
        order = order or (event if final == "pending" else None)
        if seen is not None:
            seen(order_id, final)
        print(f"{elapsed:6.2f}s {colour}{label} {order_id[:8]} "
              f"{final:<9}{reset} {describe(event, order)}", flush=True)
    return final


async def follow_all(session: aiohttp.ClientSession, patience: float = PATIENCE) -> None:
    """Print every order's events from now on, as the firehose brings them, until stopped;
    each line starts with the event's time (local) and its order. Across a restart of the
    engine it reads on from the last event it printed."""
    async with session.get("/api/orders", params={"limit": "1"}) as resp:
        now = int((await resp.json())["gseq"])  # the firehose's position: live from here
    orders: dict[str, dict[str, Any]] = {}  # each live order's pending event: its tokens
    stream = events(session, "/api/orders/stream", lambda e: int(e["gseq"]),
                    lambda last: {"after": str(max(last, now))}, patience)
    async for event in stream:
        order_id, status = event["orderId"], event["status"]
        if status == "pending":
            orders[order_id] = event
        at = datetime.fromisoformat(event["at"]).astimezone()
        print(f"{at:%H:%M:%S}.{at.microsecond // 1000:03d} {order_id[:8]} {status:<9} "
              f"{describe(event, orders.get(order_id))}", flush=True)
        if status in TERMINAL:
            orders.pop(order_id, None)


async def submit(session: aiohttp.ClientSession, order: dict[str, Any],
                 patience: float = PATIENCE, *,
                 options: Mapping[str, str] | None = None) -> str | None:
    """POST the order; its id, or None once the refusal is printed. It goes with an
    Idempotency-Key, so that when the answer is lost (the engine restarting as it came) the
    same request can be sent again, for up to `patience` seconds, without a second order.
    `options`: the command's option for each field of the order, named in a refusal."""
    key, lost_at, busy_since = str(uuid.uuid4()), None, None
    while True:
        try:
            async with session.post("/api/orders/execute", json=order,
                                    headers={"Idempotency-Key": key}) as resp:
                body = await resp.json()
            refusal = body.get("error", {}) if resp.status != 201 else {}
            if refusal.get("code") not in FOR_NOW:
                break
            # It cannot take it now (the node away, a full queue, its database restarting):
            # the same order again once it says, for as long as a lost answer is waited for.
            now = time.monotonic()
            busy_since = now if busy_since is None else busy_since
            if now - busy_since > patience:
                break
            if busy_since == now:
                print(f"the engine cannot take it now ({refusal['code']}: "
                      f"{refusal['message']}); sending the same order again for up to "
                      f"{patience:g} s", file=sys.stderr, flush=True)
            await asyncio.sleep(_retry_after(resp.headers.get("Retry-After")))
            continue
        except aiohttp.ClientConnectionError as error:
            # Never connected, the first time: no engine there, which the caller says. Once
            # an answer was lost, the engine may be restarting: the same request again.
            first = lost_at is None
            if first and isinstance(error, aiohttp.ClientConnectorError):
                raise
            lost_at = time.monotonic() if first else lost_at
            if lost_at is not None and time.monotonic() - lost_at > patience:
                raise
            if first:
                print(f"the answer was lost ({type(error).__name__}); sending the same order "
                      "again (its Idempotency-Key makes no second one)", file=sys.stderr,
                      flush=True)
        await asyncio.sleep(RETRY_EVERY)
    if resp.status != 201:
        refusal = body["error"]
        field = refusal.get("field", "")
        option = (options or {}).get(field, f"--{field}")  # the field, named as the user set it
        print(f"refused ({resp.status}): {refusal['code']}"
              f"{f' ({option})' if option != f'--{field}' else ''}: {refusal['message']}",
              file=sys.stderr)
        return None
    return str(body["orderId"])


def _retry_after(header: str | None) -> float:
    """The seconds the engine asked to wait (at least RETRY_EVERY, at most a minute)."""
    try:
        return min(max(float(header or RETRY_EVERY), RETRY_EVERY), 60.0)
    except ValueError:  # an HTTP date, or a proxy's nonsense
        return RETRY_EVERY


def amounts(order: dict[str, Any]) -> tuple[str, str]:
    """What an order spent and got: its fill's (a TWAP's slices' together, and while it runs,
    out of how much), else what it asks: the amount on the side it fixes (the input, or the
    output of an exact out) and "?" on the other, which the market decides."""
    fill = order.get("fill")
    if fill:
        return fill["amountIn"], fill["amountOut"]
    if order.get("received") is not None:  # a TWAP parent: what its slices sold so far
        sold = order["filled"] if order["status"] in TERMINAL else (
            f"{order['filled']} of {order['amount']}")
        return sold, order["received"]
    if order.get("swapMode") == "ExactOut":
        return "?", order["amount"]
    return order["amount"], "?"


async def cmd_orders(session: aiohttp.ClientSession, args: argparse.Namespace) -> int:
    params = {"limit": str(args.limit), **({"status": args.status} if args.status else {})}
    async with session.get("/api/orders", params=params) as resp:
        body = await resp.json()
        if resp.status != 200:
            print(body["error"]["message"], file=sys.stderr)
            return REFUSED
    print(f"{'order':<36}  {'created':<11}  {'type':<13}  {'status':<16}  {'in':>24}  "
          f"{'out':>24}")
    today = datetime.now().astimezone().date()
    for o in body["orders"]:
        spent, got = amounts(o)
        created = datetime.fromisoformat(o["createdAt"]).astimezone()  # the reader's time
        when = f"{created:%H:%M:%S}" if created.date() == today else f"{created:%m-%d %H:%M}"
        kind = "twap slice" if o.get("parentId") else o["orderType"]  # not an order of its own
        print(f"{o['orderId']:<36}  {when:<11}  {kind:<13}  {o['status']:<16}  "
              f"{spent + ' ' + o['tokenIn']:>24}  {got + ' ' + o['tokenOut']:>24}")
    return OK

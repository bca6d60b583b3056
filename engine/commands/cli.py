"""Terminal client: `python -m engine submit|watch|cancel|orders|demo` against a running engine.

Exit codes: 0 the order confirmed (or the command succeeded); 1 it failed, expired or was
cancelled; 2 the engine refused the request; 3 no engine at --url; 130 stopped with Ctrl-C (the
order goes on).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from typing import Any

import aiohttp

from engine.domain import base58

OK, ORDER_DID_NOT_FILL, REFUSED, UNREACHABLE, INTERRUPTED = 0, 1, 2, 3, 130
PREFIX_PAGES = 25  # pages of 200 orders searched for an id's prefix
COLOURS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m"]


def describe(event: dict[str, Any]) -> str:
    status = event["status"]
    if status == "pending":
        exact = " (exact out)" if event.get("swapMode") == "ExactOut" else ""
        return (f"{event['orderType']} {event['amount']}{exact} {event['tokenIn']} -> "
                f"{event['tokenOut']}")
    if "slice" in event:  # a TWAP parent's slice
        done = f"; sold {event['filled']}, {event['remaining']} left"
        if "childStatus" in event:
            return f"slice {event['slice']} {event['childStatus']}{done}"
        if "childId" in event:
            return f"slice {event['slice']} sent: {event['amount']} as {event['childId'][:8]}"
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
        expect = (f"at most {event['maxAmountIn']} in" if "maxAmountIn" in event
                  else f"expect {event['expectedOut']}")
        return f"{event['venue']}: {event['reason']}, {expect}"
    if status in ("building", "submitted"):
        return f"attempt {event['attempt']} tx {str(event['txHash'])[:16]}..."
    if status in ("confirmed", "partially_filled") and "children" in event:
        return (f"sold {event['filled']} for {event['received']} (average "
                f"{event['averagePrice']}) in {len(event['children'])} slices")
    if status == "confirmed":
        sniped = (f", {event['slotsAfterPoolOpened']} slots after the pool opened"
                  if "slotsAfterPoolOpened" in event else "")
        return (f"filled {event['amountOut']} at {event['executedPrice']} on {event['venue']} "
                f"(slot {event['slot']}{sniped})")
    if status == "failed":
        return f"{event['error']['code']}: {event['error']['message']}"
    return str(event.get("reason", ""))


async def follow(session: aiohttp.ClientSession, order_id: str, label: str, started: float,
                 colour: str = "") -> str:
    """Print an order's events as they arrive; returns its final status."""
    final, reset = "?", "\033[0m" if colour else ""
    async with session.ws_connect(f"/api/orders/status/{order_id}") as ws:
        async for message in ws:
            event = message.json()
            final = event["status"]
            print(f"{time.monotonic() - started:6.2f}s {colour}{label} {order_id[:8]} "
                  f"{final:<9}{reset} {describe(event)}", flush=True)
    return final


async def submit(session: aiohttp.ClientSession, order: dict[str, Any]) -> str | None:
    async with session.post("/api/orders/execute", json=order) as resp:
        body = await resp.json()
    if resp.status != 201:
        print(f"refused ({resp.status}): {body['error']['code']}: {body['error']['message']}",
              file=sys.stderr)
        return None
    return str(body["orderId"])


async def cmd_submit(session: aiohttp.ClientSession, args: argparse.Namespace) -> int:
    order: dict[str, Any] = {"orderType": args.type, "tokenIn": args.token_in,
                             "tokenOut": args.token_out, "amount": args.amount}
    for key, value in (("slippage", args.slippage), ("limitPrice", args.limit_price),
                       ("maxPrice", args.max_price), ("triggerPrice", args.trigger_price),
                       ("trail", args.trail), ("takeProfitPrice", args.take_profit_price),
                       ("stopPrice", args.stop_price), ("slices", args.slices),
                       ("intervalSeconds", args.interval_seconds),
                       ("swapMode", "ExactOut" if args.exact_out else None),
                       ("ttlSeconds", args.ttl)):
        if value is not None:
            order[key] = value
    order_id = await submit(session, order)
    if order_id is None:
        return REFUSED
    if args.detach:
        print(order_id)
        return OK
    return await _follow_to_the_end(session, order_id)


async def _follow_to_the_end(session: aiohttp.ClientSession, order_id: str) -> int:
    """Follow until the order ends; Ctrl-C stops following (one line), never the order."""
    try:
        final = await follow(session, order_id, "", time.monotonic())
    except asyncio.CancelledError:
        print(f"\nstopped following {order_id}: the order goes on. Watch it with "
              f"`python -m engine watch {order_id[:8]}`, or cancel it with "
              f"`python -m engine cancel {order_id[:8]}`", file=sys.stderr)
        return INTERRUPTED
    return OK if final == "confirmed" else ORDER_DID_NOT_FILL


async def resolve(session: aiohttp.ClientSession, given: str) -> str | None:
    """The order an id or a unique prefix of one names (as `submit` prints the first 8)."""
    async with session.get(f"/api/orders/{given}") as resp:
        if resp.status == 200:
            return given
    found: list[str] = []
    cursor: str | None = None
    for _ in range(PREFIX_PAGES):
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        async with session.get("/api/orders", params=params) as resp:
            if resp.status != 200:
                break
            page = await resp.json()
        found += [o["orderId"] for o in page["orders"] if o["orderId"].startswith(given)]
        cursor = page.get("nextCursor")
        if cursor is None or len(found) > 1:
            break
    if len(found) == 1:
        return found[0]
    print(f"{'no order' if not found else 'more than one order'} starts with {given!r}",
          file=sys.stderr)
    return None


async def cmd_watch(session: aiohttp.ClientSession, args: argparse.Namespace) -> int:
    order_id = await resolve(session, args.order_id)
    if order_id is None:
        return REFUSED
    return await _follow_to_the_end(session, order_id)


async def cmd_cancel(session: aiohttp.ClientSession, args: argparse.Namespace) -> int:
    if args.all_waiting:
        async with session.delete("/api/orders", params={"status": "waiting"}) as resp:
            body = await resp.json()
        if resp.status != 200:
            print(f"refused ({resp.status}): {body['error']['message']}", file=sys.stderr)
            return REFUSED
        cancelled = body.get("cancelled", [])
        print(f"cancelled {len(cancelled)} waiting orders")
        for order_id in cancelled:
            print(order_id)
        return OK
    if not args.order_id:
        print("give an order id (or a prefix of one), or --all-waiting", file=sys.stderr)
        return REFUSED
    order_id = await resolve(session, args.order_id)
    if order_id is None:
        return REFUSED
    async with session.delete(f"/api/orders/{order_id}") as resp:
        body = await resp.json()
    if resp.status != 200:
        print(f"not cancelled ({resp.status}): {body['error']['message']}", file=sys.stderr)
        return REFUSED
    print(f"cancelled {order_id}")
    return OK


async def cmd_orders(session: aiohttp.ClientSession, args: argparse.Namespace) -> int:
    params = {"limit": str(args.limit), **({"status": args.status} if args.status else {})}
    async with session.get("/api/orders", params=params) as resp:
        body = await resp.json()
        if resp.status != 200:
            print(body["error"]["message"], file=sys.stderr)
            return REFUSED
    print(f"{'order':<36}  {'type':<13}  {'status':<16}  {'amount':>14}  pair          filled")
    for o in body["orders"]:
        # A fill's output; a TWAP's, what its slices received together.
        filled = (o.get("fill") or {}).get("amountOut") or o.get("received") or ""
        print(f"{o['orderId']:<36}  {o['orderType']:<13}  {o['status']:<16}  "
              f"{o['amount']:>14}  {o['tokenIn'] + '/' + o['tokenOut']:<12}  {filled}")
    return OK


async def net_price(session: aiohttp.ClientSession, amount_sol: float) -> float:
    """USDC per SOL now, net of fees and impact, for `amount_sol` (as trigger orders judge)."""
    async with session.get("/api/quotes", params={
            "inputMint": "SOL", "outputMint": "USDC", "amount": str(int(amount_sol * 1e9))}) as r:
        quote = await r.json()
        if r.status != 200:
            raise DemoRefused(quote["error"]["message"])
    return int(quote["outAmount"]) / 1e6 / amount_sol


class DemoRefused(Exception):
    """The engine cannot run the demo (no quote, say)."""


def demo_orders(price: float, mint: str) -> list[dict[str, Any]]:
    """Every order type, its triggers set from the price now so that each fires: the limit,
    the stop and the stop-limit at once, the trailing stop and the bracket's stop leg after the demo's own
    sell pushes the price down by more than they allow."""
    sell = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "ttlSeconds": 60}
    return [
        {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1.5},
        {"orderType": "market", "tokenIn": "USDC", "tokenOut": "SOL", "amount": "250"},
        {"orderType": "market", "tokenIn": "SOL", "tokenOut": "BONK", "amount": 0.75},
        {**sell, "orderType": "limit", "limitPrice": round(price * 0.99, 4)},
        {**sell, "orderType": "stop", "triggerPrice": round(price * 1.01, 4)},
        {**sell, "orderType": "stop_limit", "triggerPrice": round(price * 1.01, 4),
         "limitPrice": round(price * 0.97, 4)},
        {**sell, "orderType": "trailing_stop", "trail": 0.002},
        {**sell, "orderType": "bracket", "takeProfitPrice": round(price * 1.05, 4),
         "stopPrice": round(price * 0.998, 4)},
        {"orderType": "twap", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1.2,
         "slices": 3, "intervalSeconds": 2},
        {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 100,
         "swapMode": "ExactOut"},
        {"orderType": "sniper", "tokenIn": "SOL", "tokenOut": mint, "amount": 0.5,
         "slippage": 0.2},
    ]


async def cmd_demo(session: aiohttp.ClientSession, args: argparse.Namespace) -> int:
    """Orders of every type, streamed side by side: a token launch for the sniper, and a sell
    that moves the price through the trailing stop's and the bracket's triggers."""
    mint = base58.encode(os.urandom(32))
    try:
        price = await net_price(session, 1)
    except DemoRefused as error:
        print(f"no demo: {error}", file=sys.stderr)
        return REFUSED
    orders = demo_orders(price, mint)
    started = time.monotonic()
    coloured = not args.plain and sys.stdout.isatty()  # escapes only to a terminal

    async def run(n: int, order: dict[str, Any]) -> str:
        order_id = await submit(session, order)
        if order_id is None:
            return "refused"
        colour = COLOURS[n % len(COLOURS)] if coloured else ""
        return await follow(session, order_id, f"#{n}", started, colour)

    async def move_the_market() -> None:
        await asyncio.sleep(2)
        async with session.post("/api/sim/launch", json={
                "mint": mint, "venue": "raydium", "price": 0.000001, "liquidity": 85}) as resp:
            print(f"{time.monotonic() - started:6.2f}s launch of {mint[:8]}: {resp.status}")
        for _ in range(4):  # a whale sells until the stops below the price are crossed
            order_id = await submit(session, {"orderType": "market", "tokenIn": "SOL",
                                              "tokenOut": "USDC", "amount": 150,
                                              "slippage": 0.05})
            print(f"{time.monotonic() - started:6.2f}s a sale of 150 SOL moves the price "
                  f"({order_id and order_id[:8]})")
            await asyncio.sleep(1)

    finals, _ = await asyncio.gather(asyncio.gather(*(run(n, o) for n, o in enumerate(orders))),
                                     move_the_market())
    print(f"done in {time.monotonic() - started:.1f}s: "
          f"{ {s: finals.count(s) for s in sorted(set(finals))} }")
    return OK if set(finals) == {"confirmed"} else ORDER_DID_NOT_FILL


COMMANDS = {"submit": cmd_submit, "watch": cmd_watch, "cancel": cmd_cancel,
            "orders": cmd_orders, "demo": cmd_demo}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m engine", description=__doc__.splitlines()[0],
                                epilog="Without a command, `python -m engine` serves the engine "
                                       "(see `python -m engine serve --help`).")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get("ENGINE_URL", "http://127.0.0.1:8080"),
                        help="the engine [env ENGINE_URL; default: %(default)s]")
    common.add_argument("--key", default=os.environ.get("ENGINE_KEY"),
                        help="an API key, once the engine has keys [env ENGINE_KEY]")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("submit", parents=[common],
                       help="submit an order and follow it to the end")
    s.add_argument("token_in")
    s.add_argument("token_out")
    s.add_argument("amount")
    s.add_argument("--type", default="market",
                   choices=("market", "limit", "stop", "stop_limit", "trailing_stop", "bracket",
                            "twap", "sniper"))
    s.add_argument("--slippage", type=float)
    s.add_argument("--limit-price", help="limit, stop_limit, twap: the least net price it "
                   "sells at")
    s.add_argument("--max-price")
    s.add_argument("--trigger-price", help="stop: sell once the net price falls to this; "
                   "stop_limit: then become a limit order at --limit-price")
    s.add_argument("--trail", help="trailing stops: sell this fraction below the best price")
    s.add_argument("--take-profit-price", help="brackets: sell once the net price rises to this")
    s.add_argument("--stop-price", help="brackets: or once it falls to this")
    s.add_argument("--slices", type=int, help="twap: how many slices (2..1000)")
    s.add_argument("--interval-seconds", type=int, help="twap: seconds between slices")
    s.add_argument("--exact-out", action="store_true",
                   help="market, limit, stop, stop_limit: AMOUNT is what you receive of "
                   "TOKEN_OUT")
    s.add_argument("--ttl", type=float, help="seconds a waiting order may wait")
    s.add_argument("--detach", action="store_true",
                   help="print the order's id and exit, without following it")
    w = sub.add_parser("watch", parents=[common], help="follow an order's stream")
    w.add_argument("order_id", help="the order's id, or a unique prefix of it")
    c = sub.add_parser("cancel", parents=[common], help="cancel an order that has not started "
                                                        "executing, or every waiting one")
    c.add_argument("order_id", nargs="?", help="the order's id, or a unique prefix of it")
    c.add_argument("--all-waiting", action="store_true",
                   help="cancel every waiting order you own (all of them with an admin key)")
    o = sub.add_parser("orders", parents=[common], help="a table of recent orders")
    o.add_argument("--status")
    o.add_argument("--limit", type=int, default=20)
    d = sub.add_parser("demo", parents=[common],
                       help="orders of every type, streamed side by side")
    d.add_argument("--plain", action="store_true", help="no colours")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    command = COMMANDS[args.command]

    async def run() -> int:
        # Ctrl-C cancels the command (a follow says how to go on), without a traceback.
        main_task = asyncio.current_task()
        assert main_task is not None
        with contextlib.suppress(ValueError, RuntimeError, NotImplementedError):  # not main
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, main_task.cancel)
        try:
            headers = {"Authorization": f"Bearer {args.key}"} if args.key else None
            async with aiohttp.ClientSession(args.url, headers=headers) as session:
                return await command(session, args)
        except aiohttp.ClientConnectionError as error:
            print(f"no engine at {args.url} ({error}); start one with: python -m engine",
                  file=sys.stderr)
            return UNREACHABLE

    try:
        return asyncio.run(run())
    except (KeyboardInterrupt, asyncio.CancelledError):  # outside a follow
        print("\nstopped", file=sys.stderr)
        return INTERRUPTED

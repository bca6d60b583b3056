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
from typing import Any

import aiohttp

from engine.commands.demo import cmd_demo
from engine.commands.market_text import cmd_quote, cmd_wallet
from engine.commands.orders_text import (
    INTERRUPTED,
    OK,
    ORDER_DID_NOT_FILL,
    REFUSED,
    UNREACHABLE,
    cmd_orders,
    follow,
    follow_all,
    submit,
)
from engine.commands.reconnecting import PATIENCE, StreamEnded

STATUSES = ("pending", "waiting", "routing", "building", "submitted", "confirmed",
            "partially_filled", "failed", "expired", "cancelled")  # as the API writes them
PREFIX_PAGES = 25  # pages of 200 orders searched for an id's prefix


# An order's fields as the API names them, and the options of `submit` that set them.
FIELDS = {"slippage": "slippage", "limitPrice": "limit_price", "maxPrice": "max_price",
          "triggerPrice": "trigger_price", "trail": "trail",
          "takeProfitPrice": "take_profit_price", "stopPrice": "stop_price",
          "slices": "slices", "intervalSeconds": "interval_seconds", "ttlSeconds": "ttl",
          "priorityFee": "priority_fee"}
_OPTIONS = {"swapMode": "--exact-out",
            **{field: "--" + dest.replace("_", "-") for field, dest in FIELDS.items()}}


async def cmd_submit(session: aiohttp.ClientSession, args: argparse.Namespace) -> int:
    order: dict[str, Any] = {"orderType": args.type, "tokenIn": args.token_in,
                             "tokenOut": args.token_out, "amount": args.amount}
    for field, dest in FIELDS.items():
        if getattr(args, dest) is not None:
            order[field] = getattr(args, dest)
    if args.exact_out:
        order["swapMode"] = "ExactOut"
    order_id = await submit(session, order, args.reconnect_for, options=_OPTIONS)
    if order_id is None:
        return REFUSED
    if args.detach:
        print(order_id)
        return OK
    return await _follow_to_the_end(session, order_id, args.reconnect_for)


async def _follow_to_the_end(session: aiohttp.ClientSession, order_id: str,
                             patience: float) -> int:
    """Follow until the order ends, across restarts of the engine; Ctrl-C stops following
    (one line), never the order."""
    seen: list[str] = []
    try:
        final = await follow(session, order_id, seen=lambda _, status: seen.append(status),
                             patience=patience)
    except asyncio.CancelledError:
        print(f"\nstopped following {order_id}: the order goes on. Watch it with "
              f"`python -m engine watch {order_id[:8]}`, or cancel it with "
              f"`python -m engine cancel {order_id[:8]}`", file=sys.stderr)
        return INTERRUPTED
    except StreamEnded as ended:
        last = f"it was {seen[-1]} when last seen" if seen else "nothing of it was seen"
        print(f"{ended}: {last}; watch it again with `python -m engine watch "
              f"{order_id[:8]}`", file=sys.stderr)
        return UNREACHABLE
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
    if args.all == (args.order_id is not None):
        print("give an order id (or a prefix of one), or --all", file=sys.stderr)
        return REFUSED
    if args.all:
        try:
            await follow_all(session, args.reconnect_for)  # until Ctrl-C
        except StreamEnded as ended:
            print(ended, file=sys.stderr)
            return UNREACHABLE
        return OK
    order_id = await resolve(session, args.order_id)
    if order_id is None:
        return REFUSED
    return await _follow_to_the_end(session, order_id, args.reconnect_for)


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


COMMANDS = {"submit": cmd_submit, "watch": cmd_watch, "cancel": cmd_cancel,
            "orders": cmd_orders, "demo": cmd_demo, "quote": cmd_quote, "wallet": cmd_wallet}


def _pair_and_amount(p: argparse.ArgumentParser) -> None:
    p.add_argument("token_in", help="what is sold: a listed symbol (SOL, USDC, USDT, BONK, JUP, "
                                    "WIF, RAY) or a mint on the cluster")
    p.add_argument("token_out", help="what is bought, likewise")
    p.add_argument("amount", help="how much of TOKEN_IN, in its units (1.5 = 1.5 SOL); with "
                                  "--exact-out, how much of TOKEN_OUT")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m engine", description=__doc__.splitlines()[0],
                                epilog="Without a command, `python -m engine` serves the engine "
                                       "(see `python -m engine serve --help`).")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get("ENGINE_URL", "http://127.0.0.1:8080"),
                        help="the engine [env ENGINE_URL; default: %(default)s]")
    common.add_argument("--key", default=os.environ.get("ENGINE_KEY"),
                        help="an API key, once the engine has keys [env ENGINE_KEY]")
    following = argparse.ArgumentParser(add_help=False)
    following.add_argument("--reconnect-for", type=float, default=PATIENCE, metavar="SECONDS",
                           help="how long to wait for an engine that went away (a restart) "
                                "to come back, reading on where the stream stopped, or that "
                                "cannot take an order for now (default: %(default)g)")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("submit", parents=[common, following],
                       help="submit an order and follow it to the end")
    _pair_and_amount(s)
    s.add_argument("--type", default="market",
                   choices=("market", "limit", "stop", "stop_limit", "trailing_stop", "bracket",
                            "twap", "sniper"))
    s.add_argument("--slippage", help="the most the fill may fall short of the quote, as a "
                   "fraction in (0, 0.5] (default 0.01)")
    s.add_argument("--limit-price", help="limit, stop_limit, twap: the least net price it "
                   "sells at")
    s.add_argument("--max-price", help="sniper: the most paid per token, in TOKEN_IN per "
                   "TOKEN_OUT (without it, any price)")
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
    s.add_argument("--priority-fee", metavar="auto|high|N",
                   help="auto (from recent fees; the default), high, or N micro-lamports per "
                        "compute unit")
    s.add_argument("--detach", action="store_true",
                   help="print the order's id and exit, without following it")
    w = sub.add_parser("watch", parents=[common, following], help="follow an order's stream")
    w.add_argument("order_id", nargs="?", help="the order's id, or a unique prefix of it")
    w.add_argument("--all", action="store_true",
                   help="every order's events from now on, until Ctrl-C")
    c = sub.add_parser("cancel", parents=[common], help="cancel an order that has not started "
                                                        "executing, or every waiting one")
    c.add_argument("order_id", nargs="?", help="the order's id, or a unique prefix of it")
    c.add_argument("--all-waiting", action="store_true",
                   help="cancel every waiting order you own (all of them with an admin key)")
    o = sub.add_parser("orders", parents=[common], help="a table of recent orders")
    o.add_argument("--status", choices=STATUSES, metavar="STATUS",
                   help=f"only orders in this status: {', '.join(STATUSES)}")
    o.add_argument("--limit", type=int, default=20,
                   help="how many, newest first, up to 200 (default: %(default)s)")
    q = sub.add_parser("quote", parents=[common], help="what an order would get now, from "
                                                      "each venue, without submitting it")
    _pair_and_amount(q)
    q.add_argument("--exact-out", action="store_true",
                   help="AMOUNT is what you would receive of TOKEN_OUT")
    q.add_argument("--slippage", default="0.01",
                   help="as a fraction, for the least out (or most in) it allows "
                        "(default %(default)s, as submit's)")
    sub.add_parser("wallet", parents=[common], help="the wallet's address and balances")
    d = sub.add_parser("demo", parents=[common],
                       help="orders of every type, streamed side by side")
    d.add_argument("--plain", action="store_true", help="no colours")
    return p


class Unauthorised(Exception):
    """The engine wants a key (401), or a key with more scope (403), for any call."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


async def _refuse_unauthorised(resp: aiohttp.ClientResponse) -> None:
    """Every command ends the same way when the engine wants a key: with the engine's reason
    and how to give one, never as "no such order" or a half-run command. aiohttp applies it
    to a WebSocket's handshake too, so a stream refused after its lookup passed ends alike."""
    if resp.status in (401, 403):
        try:
            reason = str((await resp.json())["error"]["message"])
        except (aiohttp.ContentTypeError, ValueError, KeyError, TypeError):
            reason = resp.reason or "unauthorised"
        raise Unauthorised(resp.status, reason)


def _key_hint(key: str | None) -> str:
    if key is None:
        return ("this engine has API keys: give one with --key KEY or ENGINE_KEY (an admin "
                "makes one with: python -m engine keys create --name NAME --scope trade)")
    return "the key given (--key or ENGINE_KEY) is unknown, revoked, or lacks the scope for this"


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
            async with aiohttp.ClientSession(args.url, headers=headers,
                                             raise_for_status=_refuse_unauthorised) as session:
                return await command(session, args)
        except Unauthorised as refused:
            print(f"refused ({refused.status}): {refused.reason}\n{_key_hint(args.key)}",
                  file=sys.stderr)
            return REFUSED
        except aiohttp.ClientConnectorCertificateError as error:
            why = getattr(error.certificate_error, "verify_message", error.certificate_error)
            print(f"the TLS certificate at {args.url} is not one this machine trusts "
                  f"({why}); set SSL_CERT_FILE to the certificate of the CA "
                  "that signed it (a self-signed one: the certificate itself)", file=sys.stderr)
            return UNREACHABLE
        except aiohttp.ClientSSLError as error:
            print(f"no TLS at {args.url} ({error}); the engine itself speaks plain http (TLS is "
                  "a proxy's in front of it)", file=sys.stderr)
            return UNREACHABLE
        except aiohttp.ClientConnectionError as error:
            print(f"no engine at {args.url} ({error}); start one with: python -m engine",
                  file=sys.stderr)
            return UNREACHABLE

    try:
        return asyncio.run(run())
    except (KeyboardInterrupt, asyncio.CancelledError):  # outside a follow
        print("\nstopped", file=sys.stderr)
        return INTERRUPTED

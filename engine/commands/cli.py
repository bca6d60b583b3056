"""Terminal client: `python -m engine submit|watch|cancel|orders|demo` against a running engine.

Exit codes: 0 the order confirmed (or the command succeeded); 1 it failed, expired or was
cancelled; 2 the engine refused the request; 3 no engine at --url; 130 stopped with Ctrl-C (the
order goes on).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

import aiohttp

from engine.commands.arguments import FIELDS, OPTIONS, parser
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
from engine.commands.reconnecting import StreamEnded

PREFIX_PAGES = 25  # pages of 200 orders searched for an id's prefix


async def cmd_submit(session: aiohttp.ClientSession, args: argparse.Namespace) -> int:
    order: dict[str, Any] = {"orderType": args.type, "tokenIn": args.token_in,
                             "tokenOut": args.token_out, "amount": args.amount}
    for field, dest in FIELDS.items():
        if getattr(args, dest) is not None:
            order[field] = getattr(args, dest)
    if args.exact_out:
        order["swapMode"] = "ExactOut"
    order_id = await submit(session, order, args.reconnect_for, options=OPTIONS)
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
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
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

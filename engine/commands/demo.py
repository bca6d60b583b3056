"""`python -m engine demo`: orders of every type at once against a running engine, each one
firing, streamed side by side."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from engine.commands.orders_text import (
    COLOURS,
    OK,
    ORDER_DID_NOT_FILL,
    REFUSED,
    UNREACHABLE,
    follow,
    submit,
)
from engine.commands.reconnecting import StreamEnded, order_events
from engine.domain import base58


async def net_price(session: aiohttp.ClientSession, amount_sol: float) -> float:
    """USDC per SOL now, net of fees and impact, for `amount_sol` (as trigger orders judge)."""
    async with session.get("/api/quotes", params={
            "inputMint": "SOL", "outputMint": "USDC", "amount": str(int(amount_sol * 1e9))}) as r:
        quote = await r.json()
        if r.status != 200:
            raise DemoRefused(quote["error"]["message"])
    return int(quote["outAmount"]) / 1e6 / amount_sol


async def why_no_launch(session: aiohttp.ClientSession) -> str | None:
    """Why this demo cannot launch a token for its sniper (None: it can): the engine serves
    the simulated market's controls only with --sim-api, and once it has keys, to an admin."""
    async with session.get("/api/sim") as resp:
        sim = await resp.json() if resp.status == 200 else {}
    if sim.get("enabled") is not True:
        return "which this engine offers only when started with --sim-api"
    if sim.get("canLaunch") is False:
        return "which takes an admin key on this engine"
    return None


class DemoRefused(Exception):
    """The engine cannot run the demo (no quote, say)."""


def demo_orders(price: float, mint: str | None) -> list[dict[str, Any]]:
    """Every order type, its triggers set from the price now so that each fires: the limit,
    the stop and the stop-limit at once, the trailing stop and the bracket's stop leg after
    the demo's own sell pushes the price down by more than they allow; the sniper once `mint`
    is launched (None: no launch can be made, so no sniper)."""
    sell = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "ttlSeconds": 60}
    sniper = [] if mint is None else [{"orderType": "sniper", "tokenIn": "SOL", "tokenOut": mint,
                                       "amount": 0.5, "slippage": 0.2, "ttlSeconds": 30}]
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
         "slices": 3, "intervalSeconds": 1},
        {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 100,
         "swapMode": "ExactOut"},
        *sniper,
    ]


SALES = 6  # at most: each moves the price by about 0.3 %, and the stops below need two or three
ARMING_SECONDS = 30.0  # a slow engine still arms every order by then; past it the market moves
FIRING_SECONDS = 1.0  # after a sale, the watcher's time to fire what the sale crossed


class Progress:
    """Each demo order's latest status, as its stream tells it, and waits on them: the demo
    moves the market once its orders are armed, and stops once the stops have fired, rather
    than after fixed pauses that a slower engine would outrun."""

    def __init__(self, count: int) -> None:
        self.status: dict[int, str] = {}
        self._count, self._changed = count, asyncio.Event()

    def seen(self, n: int, status: str) -> None:
        self.status[n] = status
        self._changed.set()

    def armed(self) -> bool:
        """Every order was accepted (or refused) and has moved past `pending`."""
        return len(self.status) == self._count and "pending" not in self.status.values()

    def fired(self, orders: list[int]) -> bool:
        return all(self.status.get(n) not in (None, "pending", "waiting") for n in orders)

    async def until(self, holds: Callable[[], bool], seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not holds():
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), deadline - loop.time())
            except TimeoutError:
                return False
        return True


async def finished(session: aiohttp.ClientSession, order_id: str) -> str:
    """An order's final status, from its stream (the whale's sales are not shown)."""
    final = "?"
    async for event in order_events(session, order_id):
        final = str(event["status"])
    return final


async def cmd_demo(session: aiohttp.ClientSession, args: argparse.Namespace) -> int:
    """Orders of every type, streamed side by side: a token launch for the sniper, and a sell
    that moves the price through the trailing stop's and the bracket's triggers."""
    try:
        price = await net_price(session, 1)
    except DemoRefused as error:
        print(f"no demo: {error}", file=sys.stderr)
        return REFUSED
    why_not = await why_no_launch(session)
    mint = base58.encode(os.urandom(32)) if why_not is None else None
    if why_not is not None:
        print(f"the sniper is left out: it waits for a token launch, {why_not}",
              file=sys.stderr)
    orders = demo_orders(price, mint)
    stops = [n for n, o in enumerate(orders) if o["orderType"] in ("trailing_stop", "bracket")]
    progress = Progress(len(orders))
    started = time.monotonic()
    coloured = not args.plain and sys.stdout.isatty()  # escapes only to a terminal

    def said(text: str) -> None:
        print(f"{time.monotonic() - started:6.2f}s {text}", flush=True)

    async def run(n: int, order: dict[str, Any]) -> str:
        order_id = await submit(session, order)
        if order_id is None:
            progress.seen(n, "refused")
            return "refused"
        colour = COLOURS[n % len(COLOURS)] if coloured else ""
        return await follow(session, order_id, f"#{n}", started, colour,
                            seen=lambda _, status: progress.seen(n, status))

    async def move_the_market() -> None:
        await progress.until(progress.armed, ARMING_SECONDS)
        if mint is not None:
            # A launch refused all the same (past --launches-per-minute, say) is said, and
            # the sniper expires (30 s) rather than waiting for ever.
            async with session.post("/api/sim/launch", raise_for_status=False, json={
                    "mint": mint, "venue": "raydium", "price": 0.000001,
                    "liquidity": 85}) as resp:
                why = "" if resp.status == 201 else f" ({(await resp.json())['error']['message']})"
                said(f"launch of {mint[:8]}: {resp.status}{why}")
        for _ in range(SALES):  # a whale sells until the stops below the price are crossed
            if progress.fired(stops):
                break
            order_id = await submit(session, {"orderType": "market", "tokenIn": "SOL",
                                              "tokenOut": "USDC", "amount": 150,
                                              "slippage": 0.05})
            if order_id is None:
                break
            said(f"a sale of 150 SOL moves the price ({order_id[:8]}: "
                 f"{await finished(session, order_id)})")
            await progress.until(lambda: progress.fired(stops), FIRING_SECONDS)

    try:
        finals, _ = await asyncio.gather(
            asyncio.gather(*(run(n, o) for n, o in enumerate(orders))), move_the_market())
    except StreamEnded as ended:
        print(f"the demo stops: {ended}", file=sys.stderr)
        return UNREACHABLE
    counts = ", ".join(f"{finals.count(s)} {s}" for s in sorted(set(finals)))
    print(f"done in {time.monotonic() - started:.1f} s: {counts}")
    return OK if set(finals) == {"confirmed"} else ORDER_DID_NOT_FILL

"""Run-locally demo: submit a handful of orders to a running engine and print their live streams.

    python -m engine &            # in another terminal
    python scripts/demo.py        # --url http://127.0.0.1:8080 --orders 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

import aiohttp

from engine.domain import base58

SNIPED_MINT = base58.encode(os.urandom(32))  # a token that does not exist yet
ORDERS = [
    {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1.5,
     "slippage": 0.01},
    {"orderType": "market", "tokenIn": "USDC", "tokenOut": "SOL", "amount": "250",
     "slippage": 0.005},
    {"orderType": "market", "tokenIn": "SOL", "tokenOut": "BONK", "amount": 0.75},
    {"orderType": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1,
     "limitPrice": 140, "ttlSeconds": 30},  # already in the money: fills at once
    {"orderType": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1,
     "limitPrice": 152, "ttlSeconds": 8},  # out of the money: waits, then fills or expires
    {"orderType": "sniper", "tokenIn": "SOL", "tokenOut": SNIPED_MINT, "amount": 0.5,
     "slippage": 0.2},  # fires when the demo launches the token, two seconds in
]
COLOURS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m"]
RESET = "\033[0m"


def describe(event: dict[str, object]) -> str:
    status = event["status"]
    if status == "pending":
        return f"{event['orderType']} {event['amount']} {event['tokenIn']} -> {event['tokenOut']}"
    if status == "waiting":
        return str(event.get("reason") or f"current price {event.get('currentPrice')}")
    if status in ("expired", "cancelled"):
        return str(event.get("reason", ""))
    if status == "routing":
        return f"{event['venue']}: {event['reason']}, expect {event['expectedOut']}"
    if status in ("building", "submitted"):
        return f"attempt {event['attempt']} tx {str(event['txHash'])[:16]}..."
    if status == "confirmed":
        sniped = (f", {event['slotsAfterPoolOpened']} slots after the pool opened"
                  if "slotsAfterPoolOpened" in event else "")
        return (f"filled {event['amountOut']} at {event['executedPrice']} on {event['venue']} "
                f"(slot {event['slot']}{sniped})")
    error = event.get("error")
    return f"{error['code']}: {error['message']}" if isinstance(error, dict) else ""


async def follow(session: aiohttp.ClientSession, n: int, order: dict[str, object],
                 started: float, plain: bool) -> str:
    async with session.post("/api/orders/execute", json=order) as resp:
        body = await resp.json()
        if resp.status != 201:
            print(f"order {n} refused: {body}")
            return "refused"
    colour, reset = ("", "") if plain else (COLOURS[n % len(COLOURS)], RESET)
    final = "?"
    async with session.ws_connect(body["wsUpgrade"]) as ws:
        async for message in ws:
            event = message.json()
            final = event["status"]
            print(f"{time.monotonic() - started:6.2f}s {colour}#{n} {event['orderId'][:8]} "
                  f"{final:<9}{reset} {describe(event)}", flush=True)
    return final


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--orders", type=int, default=len(ORDERS))
    parser.add_argument("--plain", action="store_true", help="no colours")
    args = parser.parse_args()
    started = time.monotonic()
    async with aiohttp.ClientSession(args.url) as session:
        try:
            async with session.get("/healthz") as resp:
                resp.raise_for_status()
        except aiohttp.ClientError as exc:
            print(f"no engine at {args.url} ({exc}); start one with: python -m engine")
            return 2
        async def launch_later() -> None:
            await asyncio.sleep(2)
            async with session.post("/api/sim/launch", json={
                    "mint": SNIPED_MINT, "venue": "raydium", "price": 0.000001,
                    "liquidity": 85}) as resp:
                print(f"{time.monotonic() - started:6.2f}s launch of {SNIPED_MINT[:8]}: "
                      f"{resp.status}", flush=True)

        launcher = asyncio.create_task(launch_later())
        finals = await asyncio.gather(*(
            follow(session, n, ORDERS[n % len(ORDERS)], started, args.plain)
            for n in range(args.orders)))
        await launcher
    summary = {s: finals.count(s) for s in sorted(set(finals))}
    print(f"done in {time.monotonic() - started:.1f}s: {summary}")
    return 0 if set(finals) <= {"confirmed", "failed", "expired", "cancelled"} else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""Run-locally demo: submit a handful of orders to a running engine and print their live streams.

    python -m engine &            # in another terminal
    python scripts/demo.py        # --url http://127.0.0.1:8080 --orders 5
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import aiohttp

ORDERS = [
    {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1.5, "slippage": 0.01},
    {"tokenIn": "USDC", "tokenOut": "SOL", "amount": "250", "slippage": 0.005},
    {"tokenIn": "SOL", "tokenOut": "BONK", "amount": 0.75},
    {"tokenIn": "JUP", "tokenOut": "SOL", "amount": 400, "slippage": 0.02},
    {"tokenIn": "USDC", "tokenOut": "USDT", "amount": 1000, "slippage": 0.001},
]
COLOURS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m"]
RESET = "\033[0m"


def describe(event: dict[str, object]) -> str:
    status = event["status"]
    if status == "pending":
        return f"{event['amount']} {event['tokenIn']} -> {event['tokenOut']}"
    if status == "routing":
        return f"{event['venue']}: {event['reason']}, expect {event['expectedOut']}"
    if status in ("building", "submitted"):
        return f"attempt {event['attempt']} tx {str(event['txHash'])[:16]}..."
    if status == "confirmed":
        return (f"filled {event['amountOut']} at {event['executedPrice']} on {event['venue']} "
                f"(slot {event['slot']})")
    error = event.get("error")
    return f"{error['code']}: {error['message']}" if isinstance(error, dict) else ""


async def follow(session: aiohttp.ClientSession, n: int, order: dict[str, object],
                 started: float, plain: bool) -> str:
    async with session.post("/api/orders/execute", json={"orderType": "market", **order}) as resp:
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
        finals = await asyncio.gather(*(
            follow(session, n, ORDERS[n % len(ORDERS)], started, args.plain)
            for n in range(args.orders)))
    summary = {s: finals.count(s) for s in sorted(set(finals))}
    print(f"done in {time.monotonic() - started:.1f}s: {summary}")
    return 0 if set(finals) <= {"confirmed", "failed"} else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

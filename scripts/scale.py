"""Scale checks: a database of a million orders, and ten thousand idle WebSocket subscribers.

    python scripts/scale.py orders --count 1000000      # start-up time, GET p99, keyset paging
    python scripts/scale.py subscribers --count 10000   # engine RSS with idle subscribers
    python scripts/scale.py busy --count 1000           # 1,000 readers of the firehose under load
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import orjson

from engine.app import open_store
from engine.config import Settings
from engine.domain.events import Fill
from engine.domain.order import Order
from engine.domain.parsing import parse_order
from engine.domain.status import OrderStatus
from engine.store.rows import COLUMNS, PLACEHOLDERS, row
from engine.testing.process import EngineProcess

SOL, USDC = "So11111111111111111111111111111111111111112", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def confirmed_order() -> Order:
    """A confirmed market order as the store keeps one: its row is the template of each
    written below. (Set confirmed directly: walking a made-up route through the status
    machine would test nothing a scale run is about.)"""
    at = datetime(2026, 11, 25, tzinfo=UTC)
    request = parse_order({"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC",
                           "amount": 1}, at)
    order, _ = Order.accept("template", request, at)
    fill = Fill("5" * 88, 1, "meteora", 10**9, 149_900_000, 5_000, 0, "confirmed")
    return replace(order, status=OrderStatus.CONFIRMED, seq=5, attempts=1, fill=fill)


async def fill(db_path: Path, count: int) -> list[str]:
    """Write `count` confirmed orders with their events straight into a fresh database, made
    and migrated by the engine's own store."""
    await (await open_store(Settings(db=str(db_path)))).close()
    template = row(confirmed_order())
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA synchronous=OFF")  # bulk load only; the engine reopens with FULL
    ids, batch = [], 20_000
    for start in range(0, count, batch):
        orders, events, feed = [], [], []
        for _ in range(min(batch, count - start)):
            oid = str(uuid.uuid4())
            ids.append(oid)
            orders.append((oid, *template[1:]))  # NAMES starts with the id
            for seq, status in enumerate(("pending", "routing", "building", "submitted",
                                          "confirmed"), start=1):
                body = orjson.dumps({"orderId": oid, "seq": seq, "status": status,
                                     "at": "2026-11-25T00:00:00.000Z"})
                events.append((oid, seq, body))
                feed.append((oid, seq))
        with db:
            db.executemany(f"INSERT INTO orders ({COLUMNS}) VALUES ({PLACEHOLDERS})", orders)
            db.executemany("INSERT INTO events VALUES (?, ?, ?)", events)
            db.executemany("INSERT INTO feed (order_id, seq) VALUES (?, ?)", feed)
        print(f"  {start + len(orders):,} orders written", end="\r", flush=True)
    db.close()
    print()
    return ids


async def orders(count: int, tmp: Path) -> None:
    db = tmp / "scale.db"
    ids = await fill(db, count)
    engine = EngineProcess(db, "--latency-scale", "0", "--requests-per-second", "0")
    started = time.perf_counter()
    await engine.start()
    startup = time.perf_counter() - started
    sample = random.sample(ids, 2000)
    latencies = []
    async with aiohttp.ClientSession(engine.url) as session:
        for oid in sample:
            t0 = time.perf_counter()
            async with session.get(f"/api/orders/{oid}") as resp:
                assert resp.status == 200
                await resp.read()
            latencies.append((time.perf_counter() - t0) * 1000)
        pages, cursor, t0 = 0, None, time.perf_counter()
        while pages < 200:
            params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
            async with session.get("/api/orders", params=params) as resp:
                cursor = (await resp.json())["nextCursor"]
            pages += 1
        paging = (time.perf_counter() - t0) / pages * 1000
    await engine.terminate()
    latencies.sort()
    print(f"orders in the database   {count:,}")
    print(f"start-up to healthy      {startup:.2f} s (process start included)")
    print(f"GET /api/orders/{{id}}     p50 {latencies[1000]:.2f} ms, p99 {latencies[1980]:.2f} ms")
    print(f"list, 200 per page       {paging:.2f} ms a page over 200 consecutive pages (keyset)")


async def subscribers(count: int, tmp: Path) -> None:
    engine = EngineProcess(tmp / "subs.db", "--latency-scale", "0", "--requests-per-second", "0")
    await engine.start()
    assert engine.proc is not None
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(engine.url, connector=connector) as session:
        body = {"orderType": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1,
                "limitPrice": 1000}
        async with session.post("/api/orders/execute", json=body) as resp:
            order_id = (await resp.json())["orderId"]
        rss_before = rss(engine.proc.pid)
        sockets = []
        for start in range(0, count, 500):
            sockets += await asyncio.gather(*(
                session.ws_connect(f"/api/orders/status/{order_id}", autoping=True)
                for _ in range(min(500, count - start))))
        await asyncio.sleep(1)
        async with session.get("/healthz") as resp:
            health = await resp.json()
        rss_after = rss(engine.proc.pid)
        for ws in sockets:
            await ws.close()
    await engine.terminate()
    print(f"idle subscribers         {health['subscribers']:,}")
    print(f"engine RSS               {rss_before:.0f} MB before, {rss_after:.0f} MB with them "
          f"({(rss_after - rss_before) * 1024 / count:.1f} KB each)")


async def busy(count: int, tmp: Path) -> None:
    """Market-order throughput with `count` subscribers on one waiting order's stream (its price
    updates), and with `count` readers of the firehose (every event of every order)."""
    for readers, stream in ((0, "order"), (count, "order"), (count, "firehose")):
        rate, frames = await _busy_run(readers, stream, tmp / f"busy{readers}{stream}.db")
        print(f"{readers:>5} readers of {stream:<8}: {rate:6.1f} orders/s completed, "
              f"{frames:,} frames delivered to the readers", flush=True)


async def _busy_run(readers: int, stream: str, db: Path, orders: int = 1500) -> tuple[float, int]:
    engine = EngineProcess(db, "--latency-scale", "0", "--failure-rate", "0",
                           "--requests-per-second", "0")
    await engine.start()
    received = 0
    body = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.5}
    async with aiohttp.ClientSession(engine.url,
                                     connector=aiohttp.TCPConnector(limit=0)) as session:
        limit = {**body, "orderType": "limit", "limitPrice": 1000, "ttlSeconds": 3600}
        async with session.post("/api/orders/execute", json=limit) as resp:
            watched = (await resp.json())["orderId"]
        path = "/api/orders/stream" if stream == "firehose" else f"/api/orders/status/{watched}"

        async def read() -> None:
            nonlocal received
            async with session.ws_connect(path) as ws:
                async for _ in ws:
                    received += 1

        async def client(n: int) -> None:
            for _ in range(n):
                async with session.post("/api/orders/execute", json=body) as resp:
                    order_id = (await resp.json())["orderId"]
                async with session.ws_connect(f"/api/orders/status/{order_id}") as ws:
                    async for _ in ws:
                        pass

        tasks = [asyncio.create_task(read()) for _ in range(readers)]
        await asyncio.sleep(1 if readers else 0)
        started = time.perf_counter()
        await asyncio.gather(*(client(orders // 50) for _ in range(50)))
        elapsed = time.perf_counter() - started
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    await engine.terminate()
    return orders / elapsed, received


def rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("orders", "subscribers", "busy"))
    p.add_argument("--count", type=int)
    args = p.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 10,000 sockets need the room
    with tempfile.TemporaryDirectory() as tmp:
        if args.what == "orders":
            asyncio.run(orders(args.count or 1_000_000, Path(tmp)))
        elif args.what == "busy":
            asyncio.run(busy(args.count or 1_000, Path(tmp)))
        else:
            asyncio.run(subscribers(args.count or 10_000, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

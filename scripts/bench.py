"""Load benchmark: N concurrent clients submit orders and follow each over WebSocket.

    python scripts/bench.py --orders 300 --concurrency 50                # seed profile
    python scripts/bench.py --orders 3000 --concurrency 100 --latency-scale 0 --failure-rate 0

Starts the engine as a subprocess (the README way) on a temporary database unless --url is
given, then prints a table (and --json PATH writes the figures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

ORDER = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1,
         "slippage": 0.02}
TERMINAL = {"confirmed", "failed"}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_engine(args: argparse.Namespace, db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "engine", "--port", str(port), "--db", str(db),
           "--workers", str(args.workers), "--latency-scale", str(args.latency_scale),
           "--failure-rate", str(args.failure_rate), "--seed", "1", "--log-level", "WARNING"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, f"http://127.0.0.1:{port}"


async def wait_healthy(url: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{url}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"engine at {url} did not become healthy")


class Stats:
    def __init__(self) -> None:
        self.submit_ms: list[float] = []
        self.event_ms: list[float] = []
        self.finals: dict[str, int] = {}
        self.refused = 0


async def one_order(session: aiohttp.ClientSession, stats: Stats) -> None:
    started = time.perf_counter()
    async with session.post("/api/orders/execute", json=ORDER) as resp:
        body = await resp.json()
    stats.submit_ms.append((time.perf_counter() - started) * 1000)
    if resp.status != 201:
        stats.refused += 1
        return
    final = "lost"
    async with session.ws_connect(f"/api/orders/status/{body['orderId']}") as ws:
        async for message in ws:
            event = message.json()
            at = datetime.fromisoformat(event["at"].replace("Z", "+00:00")).timestamp()
            stats.event_ms.append((time.time() - at) * 1000)
            final = event["status"]
    if final not in TERMINAL:
        print(f"stream of {body['orderId']} closed ({ws.close_code}) after {final}", file=sys.stderr)
    stats.finals[final] = stats.finals.get(final, 0) + 1


async def drive(url: str, orders: int, concurrency: int) -> tuple[Stats, float]:
    stats = Stats()
    remaining = iter(range(orders))
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(url, connector=connector) as session:

        async def client() -> None:
            for _ in remaining:
                await one_order(session, stats)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
    return stats, time.perf_counter() - started


def report(args: argparse.Namespace, stats: Stats, elapsed: float,
           engine_cpu: float | None) -> dict[str, Any]:
    done = sum(v for k, v in stats.finals.items() if k in TERMINAL)
    service_s = 2.5 + 0.2 + 0.04  # mean landing + quote + send in the seed profile
    ceiling = args.workers / (service_s * args.latency_scale) if args.latency_scale else None
    figures = {
        "orders": args.orders, "concurrency": args.concurrency, "workers": args.workers,
        "latencyScale": args.latency_scale, "failureRate": args.failure_rate,
        "elapsedS": round(elapsed, 2), "completedPerS": round(done / elapsed, 1),
        "completedPerMin": round(done / elapsed * 60),
        "submitP50Ms": round(percentile(stats.submit_ms, 50), 2),
        "submitP99Ms": round(percentile(stats.submit_ms, 99), 2),
        "submitMaxMs": round(max(stats.submit_ms, default=0), 2),
        "eventP50Ms": round(percentile(stats.event_ms, 50), 2),
        "eventP99Ms": round(percentile(stats.event_ms, 99), 2),
        "finals": stats.finals, "refused": stats.refused,
        "notTerminal": args.orders - stats.refused - done,
        "littleCeilingPerS": round(ceiling, 2) if ceiling else None,
        "ratioToCeiling": round(done / elapsed / ceiling, 3) if ceiling else None,
        "engineCpuS": engine_cpu,
        "meanEventsPerOrder": round(len(stats.event_ms) / max(done, 1), 2),
        "submitMeanMs": round(statistics.fmean(stats.submit_ms), 2) if stats.submit_ms else None,
    }
    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    return figures


def cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return round((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 2)
    except (OSError, IndexError, ValueError):
        return None


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="benchmark a running engine instead of starting one")
    p.add_argument("--orders", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--workers", type=int, default=10)
    p.add_argument("--latency-scale", type=float, default=1.0)
    p.add_argument("--failure-rate", type=float, default=0.08)
    p.add_argument("--json", type=Path, help="write the figures here")
    args = p.parse_args()
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url
        if url is None:
            proc, url = start_engine(args, Path(tmp) / "bench.db")
        try:
            await wait_healthy(url)
            stats, elapsed = await drive(url, args.orders, args.concurrency)
            figures = report(args, stats, elapsed, cpu_seconds(proc.pid) if proc else None)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(10)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if figures["notTerminal"] == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""Load benchmark: HTTP clients submit orders and follow each one over WebSocket.

    python scripts/bench.py --mode closed --orders 3000 --concurrency 64 --latency-scale 0 --failure-rate 0
    python scripts/bench.py --mode open --rate 500 --seconds 10 --latency-scale 0 --failure-rate 0
    python scripts/bench.py --orders 400 --concurrency 60                     # the seed profile
    python scripts/bench.py --cluster --orders 3000 --concurrency 64 --latency-scale 0 --failure-rate 0
                                        # the cluster as its own process, over HTTP JSON-RPC

Starts the engine as a subprocess (the README way) on a temporary database unless --url is given.
Each run also measures, with the same load generator, a bare aiohttp endpoint that does nothing
and a bare SQLite commit loop with the engine's settings, and reports our figures against them.
Prints a table; --json PATH writes the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from engine.testing.postgres import throwaway_postgres
from engine.testing.process import ClusterProcess, EngineProcess, free_port

# The load generator is one address asking far above the per-address request rate.
UNLIMITED = ("--requests-per-second", "0")

ORDER = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.5,
         "slippage": 0.05}
TERMINAL = {"confirmed", "failed"}
BARE_SERVER = """
import sys
from aiohttp import web
async def ok(request):
    await request.read()
    return web.json_response({"orderId": "x", "status": "pending"}, status=201)
app = web.Application()
app.router.add_post("/api/orders/execute", ok)
app.router.add_get("/healthz", lambda r: web.json_response({"status": "ok"}))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


class Stats:
    def __init__(self) -> None:
        self.submit_ms: list[float] = []
        self.event_ms: list[float] = []
        self.finals: dict[str, int] = {}
        self.refused = 0


async def one_order(session: aiohttp.ClientSession, stats: Stats, subscribers: int,
                    follow: bool) -> None:
    started = time.perf_counter()
    async with session.post("/api/orders/execute", json=ORDER) as resp:
        body = await resp.json()
    stats.submit_ms.append((time.perf_counter() - started) * 1000)
    if resp.status != 201:
        stats.refused += 1
        return
    if not follow:
        return
    finals = await asyncio.gather(*(watch(session, body["orderId"], stats, n == 0)
                                    for n in range(subscribers)))
    stats.finals[finals[0]] = stats.finals.get(finals[0], 0) + 1


async def watch(session: aiohttp.ClientSession, order_id: str, stats: Stats, measure: bool) -> str:
    final = "lost"
    async with session.ws_connect(f"/api/orders/status/{order_id}") as ws:
        async for message in ws:
            event = message.json()
            if measure and event["status"] != "pending":  # pending predates the subscription
                at = datetime.fromisoformat(event["at"].replace("Z", "+00:00")).timestamp()
                stats.event_ms.append((time.time() - at) * 1000)
            final = event["status"]
    return final


async def closed_loop(url: str | list[str], orders: int, concurrency: int, subscribers: int,
                      follow: bool = True) -> tuple[Stats, float]:
    """`concurrency` clients; with several engine URLs, client n talks to engine n mod N."""
    urls = [url] if isinstance(url, str) else url
    stats, remaining = Stats(), iter(range(orders))
    sessions = [aiohttp.ClientSession(u, connector=aiohttp.TCPConnector(limit=0)) for u in urls]
    try:
        async def client(session: aiohttp.ClientSession) -> None:
            for _ in remaining:
                await one_order(session, stats, subscribers, follow)
        started = time.perf_counter()
        await asyncio.gather(*(client(sessions[n % len(sessions)])
                               for n in range(concurrency)))
        return stats, time.perf_counter() - started
    finally:
        for session in sessions:
            await session.close()


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL server process alive now (the bench's own server)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def desk(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """N engine processes on one PostgreSQL (durable, fsync on) and one cluster process; the
    load generator spreads its clients over them. CPU per order by component."""
    sim = ("--latency-scale", str(args.latency_scale), "--failure-rate",
           str(args.failure_rate), "--seed", "1")
    with throwaway_postgres() as url:
        cluster = ClusterProcess(tmp / "cluster.db", *sim, "--fund-keypair",
                                 str(tmp / "wallet.json"))
        await cluster.start()
        engines = [EngineProcess(url, "--workers", str(args.workers), *sim, *UNLIMITED, "--rpc-url",
                                 cluster.url, "--keypair", str(tmp / "wallet.json"),
                                 "--max-pending", "100000") for _ in range(args.processes)]
        for engine in engines:
            await engine.start()
        pg_before, cpu_before = postgres_cpu(), own_cpu()
        stats, elapsed = await closed_loop([e.url for e in engines], args.orders,
                                           args.concurrency, args.subscribers)
        load = own_cpu() - cpu_before
        engine_cpu = sum(proc_stats(e.proc.pid)["cpuS"] for e in engines if e.proc)
        cluster_cpu = proc_stats(cluster.proc.pid)["cpuS"] if cluster.proc else 0.0
        pg = postgres_cpu() - pg_before
        for engine in engines:
            await engine.terminate()
        await cluster.terminate()
    done = sum(v for k, v in stats.finals.items() if k in TERMINAL)
    per = 1000 / max(done, 1)
    return {"processes": args.processes, "store": "postgresql", "orders": len(stats.submit_ms),
            "elapsedS": round(elapsed, 2), "completedPerS": round(done / elapsed, 1),
            "notTerminal": len(stats.submit_ms) - stats.refused - done,
            "engineCpuMsPerOrder": round(engine_cpu * per, 2),
            "postgresCpuMsPerOrder": round(pg * per, 2),
            "clusterCpuMsPerOrder": round(cluster_cpu * per, 2),
            "loadGeneratorCpuMsPerOrder": round(load * per, 2),
            "submitP50Ms": percentile(stats.submit_ms, 50),
            "submitP99Ms": percentile(stats.submit_ms, 99)}


async def open_loop(url: str, rate: float, seconds: float, subscribers: int,
                    follow: bool = True) -> tuple[Stats, float]:
    """Submit at a fixed rate whatever the answers do (no coordinated omission)."""
    stats, tasks = Stats(), []
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=0)) as session:
        started = time.perf_counter()
        for n in range(int(rate * seconds)):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one_order(session, stats, subscribers, follow)))
        await asyncio.gather(*tasks)
    return stats, time.perf_counter() - started


WAITING = {  # far out of the money: they wait for the whole run
    "limit": {"orderType": "limit", "limitPrice": "1000"},
    "stop": {"orderType": "stop", "triggerPrice": "10"},
    "trailing": {"orderType": "trailing_stop", "trail": "0.45"},
}
KINDS = {"mix": ["limit", "stop", "trailing"], "stops": ["stop", "trailing"]}


async def arm_waiting_orders(url: str, count: int, kind: str) -> None:
    """Park `count` waiting orders: of one kind, or of several in turn."""
    kinds = KINDS.get(kind, [kind])
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=64)) as session:
        async def post(n: int) -> None:
            body = {**ORDER, **WAITING[kinds[n % len(kinds)]], "amount": 0.01}
            async with session.post("/api/orders/execute", json=body) as resp:
                assert resp.status == 201, await resp.text()
        for start in range(0, count, 500):
            await asyncio.gather(*(post(n) for n in range(start, min(start + 500, count))))
        while True:  # the workers arm them: measure only once every one waits
            async with session.get("/healthz") as resp:
                health = await resp.json()
            if health["waiting"] >= count:
                break
            await asyncio.sleep(0.2)
        print(f"armed {count} waiting {kind} orders: {health}", flush=True)


def sqlite_commits_per_second(path: Path, seconds: float = 2.0) -> float:
    """The storage ceiling: single-row commits with the engine's durability settings."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
    n, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        db.execute("INSERT INTO t (body) VALUES (?)", (b"x" * 300,))
        n += 1
    db.close()
    return round(n / seconds)


def proc_stats(pid: int) -> dict[str, float]:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    hwm = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmHWM:"))
    return {"cpuS": round(cpu, 2), "peakRssMb": round(int(hwm.split()[1]) / 1024, 1)}


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def baseline_http(args: argparse.Namespace) -> float:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(port)])
    try:
        url = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            for _ in range(100):
                try:
                    async with session.get(f"{url}/healthz"):
                        break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
        stats, elapsed = await closed_loop(url, args.baseline_requests, args.concurrency, 1,
                                           follow=False)
        return round(len(stats.submit_ms) / elapsed, 1)
    finally:
        proc.terminate()
        proc.wait()


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    engine = cluster = None
    url = args.url
    if url is None:
        sim = ("--latency-scale", str(args.latency_scale), "--failure-rate",
               str(args.failure_rate), "--seed", "1")
        remote: tuple[str, ...] = UNLIMITED
        if args.cluster:
            cluster = ClusterProcess(tmp / "cluster.db", *sim, "--fund-keypair",
                                     str(tmp / "wallet.json"))
            await cluster.start()
            remote = (*UNLIMITED, "--rpc-url", cluster.url)
        engine = EngineProcess(tmp / "bench.db", "--workers", str(args.workers), *sim, *remote,
                               "--max-pending", "100000",
                               "--max-waiting", str(max(args.waiting + 1, 10_000)),
                               "--max-waiting-per-key", str(max(args.waiting + 1, 1_000)))
        await engine.start()
        url = engine.url
    if args.waiting:
        await arm_waiting_orders(url, args.waiting, args.waiting_kind)
    cpu_before = own_cpu()
    if args.mode == "open":
        stats, elapsed = await open_loop(url, args.rate, args.seconds, args.subscribers)
    else:
        stats, elapsed = await closed_loop(url, args.orders, args.concurrency, args.subscribers)
    figures: dict[str, Any] = {"loadGeneratorCpuS": round(own_cpu() - cpu_before, 2)}
    if engine is not None and engine.proc is not None:
        figures |= {f"engine{k[0].upper()}{k[1:]}": v for k, v in proc_stats(engine.proc.pid).items()}
        await engine.terminate()
    if cluster is not None and cluster.proc is not None:
        figures |= {f"cluster{k[0].upper()}{k[1:]}": v
                    for k, v in proc_stats(cluster.proc.pid).items()}
        await cluster.terminate()
    submitted = len(stats.submit_ms)
    done = sum(v for k, v in stats.finals.items() if k in TERMINAL)
    figures = {
        "mode": args.mode, "orders": submitted, "waitingOrders": args.waiting,
        "waitingKind": args.waiting_kind,
        "concurrency": args.concurrency,
        "rate": args.rate if args.mode == "open" else None, "subscribersPerOrder": args.subscribers,
        "workers": args.workers, "latencyScale": args.latency_scale,
        "failureRate": args.failure_rate, "elapsedS": round(elapsed, 2),
        "acceptedPerS": round((submitted - stats.refused) / elapsed, 1),
        "completedPerS": round(done / elapsed, 1),
        "submitP50Ms": percentile(stats.submit_ms, 50), "submitP99Ms": percentile(stats.submit_ms, 99),
        "submitMaxMs": round(max(stats.submit_ms, default=0), 2),
        "eventP50Ms": percentile(stats.event_ms, 50), "eventP99Ms": percentile(stats.event_ms, 99),
        "finals": stats.finals, "refused": stats.refused,
        "notTerminal": submitted - stats.refused - done, **figures,
    }
    if args.latency_scale:
        service_s = (2.5 + 0.2 + 0.04) * args.latency_scale  # landing + quote + send, on average
        ceiling = args.workers / service_s
        figures |= {"littleCeilingPerS": round(ceiling, 2),
                    "ratioToCeiling": round(figures["completedPerS"] / ceiling, 3)}
    if not args.no_baseline:
        bare = await baseline_http(args)
        commits = sqlite_commits_per_second(tmp / "baseline.db")
        figures |= {"bareAiohttpRequestsPerS": bare,
                    "ratioToBareAiohttp": round(figures["acceptedPerS"] / bare, 3),
                    "bareSqliteCommitsPerS": commits,
                    "eventsPerSecondVsCommitCeiling": round(
                        figures["completedPerS"] * 5 / commits, 2)}
    return figures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", help="benchmark a running engine instead of starting one")
    p.add_argument("--mode", choices=("closed", "open"), default="closed")
    p.add_argument("--orders", type=int, default=400, help="closed loop: orders in total")
    p.add_argument("--concurrency", type=int, default=60, help="closed loop: clients")
    p.add_argument("--rate", type=float, default=200, help="open loop: orders per second")
    p.add_argument("--seconds", type=float, default=10, help="open loop: duration")
    p.add_argument("--subscribers", type=int, default=1, help="WebSocket subscribers per order")
    p.add_argument("--workers", type=int, default=10)
    p.add_argument("--latency-scale", type=float, default=1.0)
    p.add_argument("--failure-rate", type=float, default=0.08)
    p.add_argument("--baseline-requests", type=int, default=3000)
    p.add_argument("--waiting", type=int, default=0,
                   help="orders parked out of the money during the run")
    p.add_argument("--waiting-kind", choices=("limit", "stop", "trailing", "stops", "mix"),
                   default="limit", help="what the parked orders are (stops: stop and "
                   "trailing stop in turn; mix: limit, stop and trailing stop)")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--processes", type=int, default=0,
                   help="N engine processes on a throwaway PostgreSQL and one cluster process")
    p.add_argument("--programs", help="a directory of the programs' bytecode: the cluster "
                   "(embedded, or --cluster) runs every transaction with it")
    p.add_argument("--cluster", action="store_true",
                   help="run the simulated cluster as its own process; the engine uses --rpc-url")
    p.add_argument("--json", type=Path, help="write the figures here")
    args = p.parse_args()
    if args.subscribers < 1:  # it would wait for nothing, and count nothing as done
        p.error("--subscribers must be at least 1: an order's end is learnt from its stream")
    if args.programs:  # the engine and the cluster started below read it, as `--programs`
        os.environ["ENGINE_PROGRAMS"] = str(Path(args.programs).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        work = desk(args, Path(tmp)) if args.processes else run(args, Path(tmp))
        try:  # the load generator gets the same event loop as the engine
            import uvloop
            figures = uvloop.run(work)
        except ImportError:
            figures = asyncio.run(work)
        if args.processes and not args.no_baseline:
            bare = asyncio.run(baseline_http(args))
            figures |= {"bareAiohttpRequestsPerS": bare,
                        "ratioToBareAiohttp": round(figures["completedPerS"] / bare, 3)}
    width = max(map(len, figures))
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if figures["notTerminal"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

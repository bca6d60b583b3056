"""Chaos: load the engine, SIGKILL it at random moments, restart it on the same database, audit.

    python scripts/chaos.py --kills 10 --seed 1
    python scripts/chaos.py --kills 10 --cluster   # the engine on a standalone cluster (HTTP)
    python scripts/chaos.py --kills 10 --processes 3   # 3 engines, PostgreSQL, one cluster
    python scripts/chaos.py --kills 10 --processes 3 --one-port   # the same, as --processes 3

At the end it prints orders accepted, terminal, lost, executed twice on the chain and event
sequences with gaps; all but the first two must be 0 (exit code 1 otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
from pathlib import Path

import aiohttp
import orjson

from engine.config import state_paths
from engine.testing.audit import audit, audit_postgres, reconcile_wallet
from engine.testing.postgres import throwaway_postgres
from engine.testing.process import (
    ClusterProcess,
    EngineProcess,
    children_of,
    submit_until,
    wait_all_terminal,
)


async def chaos(kills: int, seed: int, rate: float, latency_scale: float,
                failure_rate: float, workdir: Path, standalone: bool = False) -> int:
    rng = random.Random(seed)
    db = workdir / "chaos.db"
    sim = ("--latency-scale", str(latency_scale), "--failure-rate", str(failure_rate),
           "--seed", str(seed))
    args: tuple[str, ...] = sim
    cluster = None
    if standalone:  # the cluster lives on while the engine is killed again and again
        cluster = ClusterProcess(workdir / "cluster.db", *sim, "--fund-keypair",
                                 state_paths(str(db)).keypair)
        await cluster.start()
        args = (*sim, "--rpc-url", cluster.url)
    accepted: set[str] = set()
    for n in range(kills):
        engine = EngineProcess(db, *args)
        await engine.start()
        stop = asyncio.Event()
        load = asyncio.create_task(submit_until(engine.url, stop, accepted, rate))
        await asyncio.sleep(rng.uniform(0.2, 1.5))
        engine.kill()
        stop.set()
        await load
        print(f"kill {n + 1}/{kills}: {len(accepted)} orders acknowledged so far", flush=True)
    engine = EngineProcess(db, *args)
    await engine.start()
    settled = await wait_all_terminal(engine.url, timeout=120)
    async with aiohttp.ClientSession() as session, session.get(f"{engine.url}/healthz") as resp:
        execution = (await resp.json())["cluster"]["execution"]
    code = await engine.terminate()
    if cluster is not None:
        await cluster.terminate()
    result = audit(db, accepted, cluster.db if cluster else None)
    print(f"kills {kills} | accepted {result.accepted} (+ {result.slices} TWAP slices) | "
          f"acknowledged {len(accepted)} | "
          f"terminal {result.terminal} | lost {result.lost} | executed twice "
          f"{result.executed_twice} | confirmed without execution "
          f"{result.confirmed_without_execution} | failed but executed "
          f"{result.failed_but_executed} | sequences with gaps {result.gaps} | "
          f"settled {settled} | final exit {code} | transactions run by {execution}")
    return 0 if result.clean and settled and code == 0 else 1


async def scale_out(kills: int, seed: int, rate: float, latency_scale: float,
                    failure_rate: float, workdir: Path, processes: int,
                    one_port: bool = False) -> int:
    """N engine processes on one PostgreSQL order book and one standalone cluster, under
    load; one of them (never the first) is killed with SIGKILL and restarted, again and again.
    A firehose subscriber on the first checks that it saw every event once, in order. With
    `one_port`, the N are `python -m engine --processes N`: any of them is killed, and their
    parent starts another (no firehose: it could be on the one killed)."""
    rng = random.Random(seed)
    sim = ("--latency-scale", str(latency_scale), "--failure-rate", str(failure_rate),
           "--seed", str(seed))
    with throwaway_postgres() as url:
        cluster = ClusterProcess(workdir / "cluster.db", *sim, "--fund-keypair",
                                 str(workdir / "wallet.json"))
        await cluster.start()
        shared = (*sim, "--rpc-url", cluster.url, "--keypair", str(workdir / "wallet.json"),
                  "--lease-seconds", "2")
        engines = ([EngineProcess(url, *shared, "--processes", str(processes))] if one_port
                   else [EngineProcess(url, *shared) for _ in range(processes)])
        for engine in engines:
            await engine.start()
        accepted: set[str] = set()
        stop = asyncio.Event()
        seen: list[int] = []
        watcher = asyncio.create_task(firehose(engines[0].url, seen, stop) if not one_port
                                      else stop.wait())
        loads = [asyncio.create_task(submit_until(e.url, stop, accepted, rate / len(engines)))
                 for e in engines]
        for n in range(kills):
            await asyncio.sleep(rng.uniform(0.5, 1.5))
            if one_port:
                assert engines[0].proc is not None
                children = children_of(engines[0].proc.pid)
                os.kill(rng.choice(children), signal.SIGKILL)  # their parent replaces it
                print(f"kill {n + 1}/{kills}: one of {len(children)} engines on one port; "
                      f"{len(accepted)} orders acknowledged so far", flush=True)
                continue
            victim = rng.choice(engines[1:])
            victim.kill()
            print(f"kill {n + 1}/{kills}: engine on port {victim.port}; "
                  f"{len(accepted)} orders acknowledged so far", flush=True)
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            await victim.start()
        stop.set()
        await asyncio.gather(*loads)
        settled = await wait_all_terminal(engines[0].url, timeout=180)
        await asyncio.sleep(1.5)  # the relay's poll, behind any lost notification
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        codes = [await e.terminate() for e in engines]
        await cluster.terminate()
        result = await audit_postgres(url, accepted, cluster.db)
        wallet_wrong, fills_wrong = await reconcile_wallet(url, cluster.db)
    in_order = seen == list(range(1, len(seen) + 1))
    streamed = ("" if one_port else f"firehose on a survivor: {len(seen)} events, gap-free "
                f"and in order: {in_order} | ")
    print(f"processes {processes}{' on one port' if one_port else ''} | kills {kills} | "
          f"accepted {result.accepted} (+ {result.slices} TWAP slices) | acknowledged "
          f"{len(accepted)} | terminal {result.terminal} | lost {result.lost} | executed twice "
          f"{result.executed_twice} | confirmed without execution "
          f"{result.confirmed_without_execution} | failed but executed "
          f"{result.failed_but_executed} | sequences with gaps {result.gaps} | {streamed}wallet "
          f"mints off the ledger {wallet_wrong} | fills off their transaction {fills_wrong} | "
          f"settled {settled} | exits {codes}")
    reconciled = not (wallet_wrong or fills_wrong)
    return 0 if result.clean and settled and in_order and reconciled and not any(codes) else 1


async def firehose(url: str, seen: list[int], stop: asyncio.Event) -> None:
    """Every event from the start, on one engine's firehose: their positions, as received."""
    async with aiohttp.ClientSession() as session, session.ws_connect(
            f"{url.replace('http', 'ws', 1)}/api/orders/stream?after=0",
            protocols=("order-engine.v1",)) as ws:
        async for message in ws:
            seen.append(orjson.loads(message.data)["gseq"])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=60, help="orders per second submitted")
    p.add_argument("--latency-scale", type=float, default=0.2)
    p.add_argument("--failure-rate", type=float, default=0.2)
    p.add_argument("--programs", help="a directory of the programs' bytecode: the cluster "
                   "(embedded or standalone) runs every transaction with it")
    p.add_argument("--cluster", action="store_true",
                   help="run the simulated cluster as its own process, the engine on --rpc-url")
    p.add_argument("--processes", type=int, default=1,
                   help="N engine processes on PostgreSQL and one cluster (N >= 2)")
    p.add_argument("--one-port", action="store_true", help="with --processes: the N as "
                   "`python -m engine --processes N`, whose parent restarts the one killed")
    args = p.parse_args()
    if args.programs:  # the engines and the cluster started below read it, as `--programs`
        os.environ["ENGINE_PROGRAMS"] = str(Path(args.programs).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        if args.processes > 1:
            return asyncio.run(scale_out(args.kills, args.seed, args.rate, args.latency_scale,
                                         args.failure_rate, Path(tmp), args.processes,
                                         args.one_port))
        return asyncio.run(chaos(args.kills, args.seed, args.rate, args.latency_scale,
                                 args.failure_rate, Path(tmp), args.cluster))


if __name__ == "__main__":
    sys.exit(main())

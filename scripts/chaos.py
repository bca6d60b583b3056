"""Chaos: load the engine, SIGKILL it at random moments, restart it on the same database, audit.

    python scripts/chaos.py --kills 10 --seed 1
    python scripts/chaos.py --kills 10 --cluster   # the engine on a standalone cluster (HTTP)

At the end it prints orders accepted, terminal, lost, executed twice on the chain and event
sequences with gaps; all but the first two must be 0 (exit code 1 otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from pathlib import Path

from engine.testing.process import (
    ClusterProcess,
    EngineProcess,
    audit,
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
        cluster = ClusterProcess(workdir / "cluster.db", *sim)
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
          f"settled {settled} | final exit {code}")
    return 0 if result.clean and settled and code == 0 else 1


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=60, help="orders per second submitted")
    p.add_argument("--latency-scale", type=float, default=0.2)
    p.add_argument("--failure-rate", type=float, default=0.2)
    p.add_argument("--cluster", action="store_true",
                   help="run the simulated cluster as its own process, the engine on --rpc-url")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(chaos(args.kills, args.seed, args.rate, args.latency_scale,
                                 args.failure_rate, Path(tmp), args.cluster))


if __name__ == "__main__":
    sys.exit(main())

"""Audit the chain's ledger after many seeded orders with failure injection.

Every confirmed order must have exactly one transaction that executed on chain, every failed order
none. Runs the engine in-process (zero latency) on a temporary database.

    python scripts/ledger_check.py --orders 1000 --failure-rate 0.3 --seed 7
    python scripts/ledger_check.py --standalone   # the cluster behind HTTP JSON-RPC
    python scripts/ledger_check.py --programs DIR # the programs' bytecode runs every transaction
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import sys
import tempfile
from collections import Counter
from pathlib import Path

from engine.clock import SystemClock
from engine.logs import configure
from engine.simulator.genesis import open_world
from engine.testing import EngineHarness
from engine.testing.cluster import standalone_cluster, wallet_for
from engine.testing.process import MIX

PAIRS = [("SOL", "USDC"), ("USDC", "SOL"), ("SOL", "BONK"), ("JUP", "SOL"), ("USDC", "USDT"),
         ("SOL", "USDT"), ("WIF", "SOL"), ("RAY", "USDC"),
         ("BONK", "USDC"), ("USDC", "JUP")]  # the last two through SOL: two hops, one transaction
TWO_HOPS = set(PAIRS[-2:])


def kind(fields: dict[str, str | int], token_in: str, token_out: str) -> dict[str, str | int]:
    """Exact out needs a direct pool: on a two-hop pair that order is exact in."""
    if (token_in, token_out) in TWO_HOPS:
        return {k: v for k, v in fields.items() if k != "swapMode"}
    return fields


async def audit(orders: int, failure_rate: float, seed: int, remote: bool,
                programs: str | None = None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        wallet = wallet_for(Path(tmp) / "wallet.json")  # the engine's, funded
        cluster = open_world(SystemClock(), seed=seed, latency_scale=0,
                             failure_rate=failure_rate, chain_db=f"{tmp}/cluster.db",
                             funded=wallet, programs=programs) if remote else None
        async with contextlib.AsyncExitStack() as stack:
            extra: dict[str, str] = {"programs": programs or ""}
            if cluster is not None:
                extra = {"rpc_url": await stack.enter_async_context(standalone_cluster(cluster))}
            engine = await stack.enter_async_context(EngineHarness.start(
                Path(tmp) / "ledger.db", failure_rate=failure_rate, seed=seed, **extra))
            pairs = itertools.islice(itertools.cycle(PAIRS), orders)
            kinds = itertools.cycle(MIX)  # every type; the waiting ones fire at once
            ids = await asyncio.gather(*(engine.submit(tokenIn=a, tokenOut=b, amount=1,
                                                       slippage=0.01, **kind(next(kinds), a, b))
                                         for a, b in pairs))
            finals = await asyncio.gather(*(engine.wait_terminal(i, limit=300) for i in ids))
            # A TWAP's slices are orders of their own: audit each like any other order.
            for order_id, final in list(zip(ids, finals, strict=True)):
                for child in (await engine.order(order_id)).get("children") or ():
                    ids.append(child)
                    finals.append(await engine.wait_terminal(child, limit=300))
                if "children" in final:
                    ids.remove(order_id)
                    finals.remove(final)
            chain = cluster.chain if cluster is not None else engine.world.chain
            outcome: Counter[str] = Counter()
            for order_id, final in zip(ids, finals, strict=True):
                landed = chain.history.landed_for(order_id)
                executed = sum(t.err is None for t in landed)
                expected = 1 if final["status"] == "confirmed" else 0
                outcome[final["status"]] += 1
                outcome["attempts>1"] += final.get("attempt", 1) > 1
                outcome["landed with an error"] += sum(t.err is not None for t in landed)
                outcome["VIOLATION"] += executed != expected
            world = cluster or engine.world
            if world.bytecode is not None and world.chain.owner is not None:
                # The wallet the cluster keeps is the runtime's own accounts, atom for atom.
                kept = dict(world.chain.wallet.balances)
                world.bytecode.read_wallet(world.chain.owner, world.chain.wallet, list(kept))
                outcome["VIOLATION"] += world.chain.wallet.balances != kept
    print(f"orders {orders}, failure rate {failure_rate}, seed {seed}, cluster "
          f"{'standalone over HTTP' if remote else 'embedded'}, transactions run by "
          f"{'the programs bytecode' if programs else 'the Python model'}")
    for key in ("confirmed", "failed", "attempts>1", "landed with an error", "VIOLATION"):
        print(f"  {key:<22} {outcome[key]}")
    codes = Counter(f["error"]["code"] for f in finals if f["status"] == "failed")
    print(f"  failure codes          {dict(codes)}")
    return 1 if outcome["VIOLATION"] else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--failure-rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--standalone", action="store_true",
                        help="the cluster behind HTTP JSON-RPC instead of in process")
    parser.add_argument("--programs", help="a directory of the programs' bytecode: the "
                        "cluster runs every transaction with it")
    args = parser.parse_args()
    configure("ERROR")
    return asyncio.run(audit(args.orders, args.failure_rate, args.seed, args.standalone,
                             args.programs))


if __name__ == "__main__":
    sys.exit(main())

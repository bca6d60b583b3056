"""The simulated cluster on its own, in this process: what `python -m engine cluster` serves,
on a free port, for tests and scripts that run engines against a standalone node."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from engine.clock import SystemClock
from engine.simulator.cluster_server import serve_world
from engine.simulator.genesis import open_world
from engine.simulator.world import SimWorld
from engine.solana_client.keypair import load_or_create


def wallet_for(keypair: Path) -> str:
    """The public key of the keypair file an engine will sign with (made if missing): the
    wallet a cluster must be told to fund."""
    return str(load_or_create(str(keypair)).pubkey())


def still_world(record: Path, *, funded: str, seed: int = 5,
                failure_rate: float = 0.0) -> SimWorld:
    """A cluster with no time passing and no other traders: prices move only when told to;
    `funded` is the wallet genesis funds."""
    world = open_world(SystemClock(), seed=seed, latency_scale=0, failure_rate=failure_rate,
                       chain_db=str(record), funded=funded)
    world.hold_prices()
    return world


@contextlib.asynccontextmanager
async def standalone_cluster(world: SimWorld) -> AsyncIterator[str]:
    """Serve `world`'s JSON-RPC and PubSub over HTTP; yield its URL."""
    runner = web.AppRunner(serve_world(world, 0))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()

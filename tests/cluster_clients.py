"""What the cluster tests share: a JSON-RPC call sent as raw JSON (for methods a client lacks,
parsed then by solders' own response types), an engine's sale, to give the cluster a landed
transaction, a cluster process with an engine trading through it, and the engine's chain
adapter alone on an in-process cluster."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from engine.clock import SystemClock
from engine.config import Settings
from engine.simulator.world import SimWorld
from engine.solana_client.chain import RpcChain
from engine.solana_client.client import RpcClient
from engine.solana_client.keypair import load_or_create
from engine.solana_client.lookup_tables import Memory
from engine.solana_client.transports import InProcess
from engine.testing.process import ClusterProcess, EngineProcess

NO_TIME = ("--latency-scale", "0", "--failure-rate", "0")


def chain_adapter(world: SimWorld, keypair: Path, memory: Memory | None = None, *,
                  always_preflight: bool = False) -> RpcChain:
    """The engine's chain adapter over JSON-RPC to this world's cluster, in process, naming
    pools as the simulation does (the adapter on its own, without the engine's venues)."""
    return RpcChain(RpcClient(InProcess(world.rpc)), load_or_create(keypair), world,
                    SystemClock(), poll_seconds=0,
                    max_priority_fee=Settings().max_priority_fee, memory=memory,
                    always_preflight=always_preflight)


async def raw(url: str, method: str, *params: object) -> str:
    async with aiohttp.ClientSession() as session, session.post(url, json={
            "jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}) as resp:
        return await resp.text()


async def confirmed_sale(engine_url: str) -> str:
    """Sell a little SOL through the engine; its transaction's signature, once confirmed."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{engine_url}/api/orders/execute", json={
                "orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC",
                "amount": 0.01}) as resp:
            order_id = (await resp.json())["orderId"]
        async with session.ws_connect(f"{engine_url}/api/orders/status/{order_id}") as feed:
            events = [m.json() async for m in feed]
    assert events[-1]["status"] == "confirmed"
    return str(events[-1]["txHash"])


@asynccontextmanager
async def node_and_engine(tmp_path: Path, *engine_args: str, sim: tuple[str, ...] = NO_TIME,
                          log: Path | None = None
                          ) -> AsyncIterator[tuple[ClusterProcess, EngineProcess]]:
    """A cluster process funding a wallet, and an engine trading with it through the cluster
    (`--rpc-url`), both stopped after (the cluster woken first, should a test have frozen it).
    `log`: where the engine's log goes."""
    cluster = ClusterProcess(tmp_path / "chain.db", *sim, "--fund-keypair",
                             str(tmp_path / "wallet.json"))
    await cluster.start()
    engine = EngineProcess(tmp_path / "e.db", *sim, "--rpc-url", cluster.url, "--keypair",
                           str(tmp_path / "wallet.json"), "--requests-per-second", "0",
                           *engine_args, log=log)
    try:
        await engine.start()
        yield cluster, engine
    finally:
        assert cluster.proc is not None
        cluster.proc.send_signal(signal.SIGCONT)  # a frozen one must hear its SIGTERM
        if engine.proc is not None:
            await engine.terminate()
        await cluster.terminate()

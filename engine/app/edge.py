"""The composition root's edge: the simulated market and cluster (embedded, or elsewhere behind
--rpc-url), the JSON-RPC client the engine reaches it with, the venues that read its pools'
accounts, the chain that signs and sends, and the check that a database's orders are resumed
on the cluster they were made on."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from loguru import logger

from engine.api.server import StartupError
from engine.config import Settings, state_paths
from engine.ports import Clock, OrderStore
from engine.simulator.genesis import open_world
from engine.simulator.ledger import RecordUnavailable
from engine.simulator.refusals import WalletMismatch
from engine.simulator.slots import SLOT_SECONDS
from engine.simulator.world import SimWorld
from engine.solana.jsonrpc import RpcError, node_name
from engine.solana.programs import AMM_V4, CPMM, DLMM
from engine.solana_client.account_venue import AccountVenue
from engine.solana_client.chain import RpcChain
from engine.solana_client.client import RpcClient
from engine.solana_client.keypair import load_or_create
from engine.solana_client.lookup_tables import Memory
from engine.solana_client.transports import Http, InProcess, Transport
from engine.solana_client.venues import AccountDirectory
from engine.svm.runtime import ProgramsMissing


def _rpc(settings: Settings, world: SimWorld) -> RpcClient:
    transport: Transport = (Http(settings.rpc_url, ws_url=settings.ws_url) if settings.rpc_url
                            else InProcess(world.rpc))
    return RpcClient(transport)


CLUSTER_TIMEOUT = 5.0  # seconds the cluster gets to answer at start


@dataclass(frozen=True, slots=True)
class Edge:
    """How the engine reaches the cluster and the market: its chain, and its venues, which
    read the pools' accounts over JSON-RPC (the embedded cluster's, through an in-process
    transport, or `--rpc-url`'s): one path, whichever cluster answers."""

    chain: RpcChain
    venues: Sequence[AccountVenue]
    rpc: RpcClient


async def build_edge(settings: Settings, world: SimWorld, clock: Clock,
                     memory: Memory) -> Edge:
    rpc = _rpc(settings, world)
    if settings.rpc_url:
        await _reach(rpc, node_name(settings.rpc_url))
    slot = SLOT_SECONDS * settings.latency_scale
    venues = [AccountVenue("raydium", (AMM_V4, CPMM), rpc, clock, slot_seconds=slot,
                           max_age_slots=settings.max_account_age),
              AccountVenue("meteora", (DLMM,), rpc, clock, slot_seconds=slot,
                           max_age_slots=settings.max_account_age)]
    for venue in venues:
        await venue.load()
    keypair = load_or_create(settings.keypair or state_paths(settings.db).keypair)
    chain = RpcChain(rpc, keypair, AccountDirectory(venues), clock, poll_seconds=slot,
                     max_priority_fee=settings.max_priority_fee, memory=memory,
                     always_preflight=settings.always_preflight)
    return Edge(chain, venues, rpc)


async def _reach(rpc: RpcClient, url: str) -> None:
    """Fail the start in one line when the cluster does not answer (a wrong URL, or not yet up)."""
    try:
        async with asyncio.timeout(CLUSTER_TIMEOUT):
            await rpc.get_slot()
    except (RpcError, TimeoutError) as error:
        await rpc.close()
        raise StartupError(f"the cluster at {url} cannot be reached: "
                           f"{error or 'no answer within 5 s'}") from None


EXECUTION_TEXT = {"bytecode": "the programs' own bytecode (LiteSVM)",
                  "model": "the simulation's Python model of the programs",
                  "validator": "a validator's (a real node)"}
GENESIS = "genesis_hash"  # engine value: the cluster this database's orders were made on


async def same_cluster(store: OrderStore, chain: RpcChain, settings: Settings) -> str:
    """Refuse to resume a database's orders on a cluster that never saw them: the store keeps
    the genesis hash of the cluster it was first used with. The hash, once it is the same."""
    seen = await chain.genesis_hash()
    kept = await store.engine_value(GENESIS)
    if kept == seen:
        return seen
    if kept is not None and not settings.allow_other_cluster:
        where = node_name(settings.rpc_url) if settings.rpc_url else "the embedded simulated cluster"
        raise StartupError(
            f"this database's orders were made on the cluster whose genesis hash is {kept}, "
            f"but {where} has genesis hash {seen}; start with that cluster, or a new --db "
            "(--allow-other-cluster adopts this one anyway)")
    if kept is not None:
        logger.warning("--allow-other-cluster: adopting genesis {} (was {})", seen, kept)
    await store.set_engine_value(GENESIS, seen)
    return seen


def build_world(settings: Settings, clock: Clock) -> SimWorld:
    """The simulated market and cluster, recorded in `settings.chain_db` when set, funding
    the engine's own wallet. With --rpc-url the cluster is elsewhere: this one keeps no record
    (and shares no file with the other engine processes of the desk)."""
    record = None if settings.rpc_url else (settings.chain_db or None)
    wallet = load_or_create(settings.keypair or state_paths(settings.db).keypair).pubkey()
    try:
        return open_world(clock, seed=settings.seed, latency_scale=settings.latency_scale,
                          failure_rate=settings.failure_rate, chain_db=record,
                          funded=str(wallet), market_flow=settings.market_flow,
                          programs=settings.programs or None)
    except (ProgramsMissing, WalletMismatch, RecordUnavailable) as error:
        raise StartupError(str(error)) from None

"""Composition root: the one place that builds objects and knows every concrete adapter.

Every adapter can be passed in (a test's fake chain, a store on a faulty connection, a harness's
simulated world that outlives the engines it restarts); what is not passed is built from settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web
from loguru import logger

from engine.access.keyring import KeyRing
from engine.access.limits import Buckets, PerMinute
from engine.api import heartbeat, market, streams
from engine.api.app_keys import ENGINE, EXECUTION, MARKET, SEND_TIMEOUT
from engine.api.auth import guard
from engine.api.connections import CONNECTIONS, ConnectionGuard, Limits, pacing
from engine.api.door import door
from engine.api.errors import error_middleware
from engine.api.routes import add_routes, add_sim_routes
from engine.api.server import StartupError
from engine.api.sinks import websocket_frame
from engine.api.sockets import SOCKETS, Sockets, key_enforcement
from engine.api.wire import EVENTS
from engine.clock import SystemClock
from engine.config import Settings, is_postgres, state_paths
from engine.domain.order import Order
from engine.hosting.sharing import Sharing
from engine.orders.fanout import Fanout
from engine.orders.halt import TradingSwitch
from engine.orders.long_lived import LongLived
from engine.orders.retry import RetryPolicy
from engine.orders.risk_controls import RiskControls
from engine.orders.router import Router
from engine.orders.service import OrderService
from engine.orders.storage_outage import StorageOutage
from engine.orders.twap import TwapScheduler
from engine.orders.wakers import Wakers
from engine.orders.watcher import Watcher
from engine.orders.workers import WorkerPool
from engine.ports import Chain, Clock, OrderStore, Venue
from engine.publishing.hub import Hub
from engine.publishing.metrics import Metrics
from engine.simulator.ledger import RecordUnavailable
from engine.simulator.refusals import WalletMismatch
from engine.simulator.slots import SLOT_SECONDS
from engine.simulator.world import SimWorld
from engine.solana.jsonrpc import RpcError
from engine.solana.programs import AMM_V4, CPMM, DLMM
from engine.solana_client.account_venue import AccountVenue
from engine.solana_client.chain import RpcChain
from engine.solana_client.client import Http, InProcess, RpcClient, Transport
from engine.solana_client.cluster_identity import ClusterIdentity
from engine.solana_client.keypair import load_or_create
from engine.solana_client.lookup_tables import Memory
from engine.solana_client.venues import AccountDirectory, keep_fresh
from engine.store.postgres import PostgresStore
from engine.store.sqlite import SqliteStore
from engine.svm.runtime import ProgramsMissing
from engine.usecases import Access, Engine, Operations, Orders, Trading
from engine.usecases.orders import WaitingLimits
from engine.usecases.tokens import TokenDirectory


def _rpc(settings: Settings, world: SimWorld) -> RpcClient:
    transport: Transport = (Http(settings.rpc_url) if settings.rpc_url
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
        await _reach(rpc, settings.rpc_url)
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
        where = settings.rpc_url or "the embedded simulated cluster"
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
        return SimWorld.build(clock, seed=settings.seed, latency_scale=settings.latency_scale,
                              failure_rate=settings.failure_rate, chain_db=record,
                              funded=str(wallet), market_flow=settings.market_flow,
                              programs=settings.programs or None)
    except (ProgramsMissing, WalletMismatch, RecordUnavailable) as error:
        raise StartupError(str(error)) from None


async def _cancel(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def open_store(settings: Settings, *,
                     connection: type[sqlite3.Connection] = sqlite3.Connection) -> OrderStore:
    """The order store at `settings.db`, migrated: a SQLite file, or a postgresql:// URL;
    `connection` is the SQLite write connection's class."""
    if is_postgres(settings.db):
        return await PostgresStore.open(settings.db, EVENTS,
                                        lease_seconds=settings.lease_seconds)
    return await SqliteStore.open(settings.db, EVENTS, connection=connection)


@dataclass(frozen=True, slots=True)
class Parts:
    """What the engine is made of; the lifecycle below needs the watcher to wire pool updates."""

    engine: Engine
    watcher: Watcher
    sharing: Sharing | None  # beside other engine processes on a shared store


def build_engine(settings: Settings, *, store: OrderStore, chain: Chain, venues: Sequence[Venue],
                 clock: Clock, rates: Buckets) -> Parts:
    """`rates`: the per-key request buckets the API admits requests with (TWAP slices draw
    on them too). Each part is made from parts made before it; the ones that react to an
    order's events subscribe to them (`events`) once made."""
    hub = Hub(settings.stream_buffer, encode=websocket_frame)
    metrics, router, trading, events = Metrics(), Router(venues), TradingSwitch(), Fanout()
    policy = RetryPolicy(max_attempts=settings.max_attempts, scale=settings.latency_scale)
    service = OrderService(store, events, router, chain, clock, policy)
    outage = StorageOutage()  # what the store refused: the workers', TWAPs' and submissions'
    pool = WorkerPool(service.execute, store.get, settings.workers, settings.max_pending,
                      give_up=service.give_up, outage=outage,
                      crash_delay=settings.latency_scale)

    def fire(order: Order) -> None:  # snipers jump the queue: the launch slot is the prize
        pool.enqueue(order, urgent=order.request.order_type.snipes)

    watcher = Watcher(router, clock, service, fire, hub.watched, store.keep_marks, trading)
    twap = TwapScheduler(service, store, router, clock, pool, rates, trading, outage,
                         retry_delay=max(settings.latency_scale, 0.1))
    wakers = Wakers(watcher, twap, LongLived())
    events.subscribe(hub, metrics, wakers, twap)
    controls = RiskControls(store, router, watcher, clock, trading,
                            max_order_usd=settings.max_order_usd,
                            max_open_orders=settings.max_open_orders,
                            open_orders=lambda: pool.pending + pool.in_flight + wakers.waiting)
    keyring = KeyRing(store)
    tokens = TokenDirectory(chain)
    orders = Orders(store=store, service=service, pool=pool, wakers=wakers, risk=controls,
                    router=router, hub=hub, metrics=metrics, clock=clock,
                    limits=WaitingLimits(settings.max_waiting, settings.max_waiting_per_key),
                    tokens=tokens, outage=outage)
    operations = Operations(store=store, orders=orders, service=service, pool=pool,
                            wakers=wakers, keyring=keyring, risk=controls, hub=hub,
                            metrics=metrics, clock=clock, workers=settings.workers,
                            shutdown_grace=settings.shutdown_grace, router=router,
                            outage=outage, node=chain)
    sharing = None
    if store.shared:  # other processes commit events too: relay theirs, lease ours
        sharing = Sharing(store, hub.deliver, operations.resume, operations.moved_elsewhere,
                          clock, lease_seconds=settings.lease_seconds)
        events.subscribe(sharing)
    for name, documentation, read in (
            ("engine_trading_halted", "1 while trading is halted (PUT /api/risk)",
             lambda: float(trading.halted)),
            ("engine_queue_depth", "Orders waiting for a worker", lambda: pool.pending),
            ("engine_in_flight", "Orders executing now", lambda: pool.in_flight),
            ("engine_waiting_orders", "Orders waiting for their trigger", lambda: wakers.waiting),
            ("engine_orders_awaiting_storage", "Orders whose last write the store refused, "
             "to be tried again", lambda: outage.awaiting),
            ("engine_websocket_subscribers", "Open order-stream subscriptions",
             lambda: hub.subscriber_count)):
        metrics.gauge(name, documentation, read)
    engine = Engine(orders, Access(keyring), Trading(controls, router, chain, tokens), operations)
    return Parts(engine, watcher, sharing)


def build_app(settings: Settings, *, clock: Clock | None = None, world: SimWorld | None = None,
              store: OrderStore | None = None,
              wrap_chain: Callable[[Chain], Chain] | None = None) -> web.Application:
    """An aiohttp app whose start-up opens the store, resumes orders and starts the workers.

    A `store` or `world` passed in belongs to the caller, who closes it; `wrap_chain` wraps
    the chain the engine is given (a test's crash points)."""
    clock = clock or SystemClock()
    owns_world = world is None
    sim = world or build_world(settings, clock)
    rates = Buckets(settings.requests_per_second, 2 * settings.requests_per_second)
    connections = ConnectionGuard(Limits(
        settings.request_timeout, settings.idle_timeout, settings.max_open_connections,
        settings.max_open_connections_per_client))
    app = web.Application(middlewares=[error_middleware, pacing(connections), door(settings),
                                       guard(settings, rates, clock.monotonic)],
                          client_max_size=settings.max_body_bytes)
    app[CONNECTIONS] = connections
    app[SEND_TIMEOUT] = settings.send_timeout

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        # Each resource is closed in reverse, also when a later step of the start fails: a
        # store left open keeps its thread, and the process, alive after the failed start.
        async with contextlib.AsyncExitStack() as opened:
            if owns_world:
                opened.push_async_callback(sim.chain.close)
            own_store = store or await open_store(settings)
            if store is None:
                opened.push_async_callback(own_store.close)
            edge = await build_edge(settings, sim, clock, own_store)
            own_chain: Chain = wrap_chain(edge.chain) if wrap_chain else edge.chain
            opened.push_async_callback(own_chain.close)
            genesis = await same_cluster(own_store, edge.chain, settings)
            app[EXECUTION] = await edge.chain.execution()
            logger.info("the cluster's transactions run as {}", EXECUTION_TEXT.get(
                app[EXECUTION], app[EXECUTION]))
            parts = build_engine(settings, store=own_store, chain=own_chain, venues=edge.venues,
                                 clock=clock, rates=rates)
            for venue in edge.venues:  # pool accounts that changed wake the price watcher
                venue.listeners.append(parts.watcher.pools_changed)
            app[ENGINE] = parts.engine
            await parts.engine.trading.announce_wallet()
            await parts.engine.operations.start()
            opened.push_async_callback(parts.engine.operations.stop)
            if parts.sharing is not None:
                await parts.sharing.start()
                opened.push_async_callback(parts.sharing.stop)
            tasks = [asyncio.create_task(parts.engine.access.follow_changes(), name="api-keys")]
            tasks.append(asyncio.create_task(keep_fresh(edge.venues), name="accounts"))
            where = f"the node at {settings.rpc_url}" if settings.rpc_url else "the node"
            tasks.append(asyncio.create_task(
                ClusterIdentity(edge.rpc, genesis, where, clock).run(), name="cluster"))
            if not settings.rpc_url:  # the simulated market lives here: let it trade
                tasks.append(asyncio.create_task(sim.run(clock, settings.launch_rate),
                                                 name="market"))
            opened.push_async_callback(_cancel, tasks)
            yield

    app[MARKET] = sim
    app[SOCKETS] = Sockets()
    app.cleanup_ctx.append(lifecycle)
    app.cleanup_ctx.append(key_enforcement)
    app.cleanup_ctx.append(heartbeat.heartbeat)
    app.on_shutdown.append(streams.close_all)
    add_routes(app.router)
    if settings.sim_api:  # the simulated market's controls: off unless asked for
        app[market.LAUNCHES] = PerMinute(settings.launches_per_minute)
        add_sim_routes(app.router)
    return app

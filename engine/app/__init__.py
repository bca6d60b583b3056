"""Composition root: the one place that builds objects and knows every concrete adapter. Here,
the web app and its start-up; the cluster's side in `edge`, the engine's parts in `parts`.

Every adapter can be passed in (a test's fake chain, a store on a faulty connection, a harness's
simulated world that outlives the engines it restarts); what is not passed is built from settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence

from aiohttp import web
from loguru import logger

from engine.access.limits import Buckets, PerMinute
from engine.api import heartbeat, market, streams
from engine.api.app_keys import ENGINE, EXECUTION, MARKET, SEND_TIMEOUT
from engine.api.auth import guard
from engine.api.connections import CONNECTIONS, ConnectionGuard, Limits, pacing
from engine.api.door import door
from engine.api.errors import error_middleware
from engine.api.routes import add_routes, add_sim_routes
from engine.api.sockets import SOCKETS, Sockets, key_enforcement
from engine.api.wire import EVENTS
from engine.app.edge import EXECUTION_TEXT, build_edge, build_world, same_cluster
from engine.app.parts import build_engine
from engine.clock import SystemClock
from engine.config import Settings, is_postgres
from engine.logs import said_if_failed
from engine.ports import Chain, Clock, OrderStore
from engine.simulator.world import SimWorld
from engine.solana.jsonrpc import node_name
from engine.solana_client.cluster_identity import ClusterIdentity
from engine.solana_client.venues import keep_fresh
from engine.store.postgres import PostgresStore
from engine.store.sqlite import SqliteStore

__all__ = ["build_app", "build_world", "open_store"]


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
            where = f"the node at {node_name(settings.rpc_url)}" if settings.rpc_url else "the node"
            tasks.append(asyncio.create_task(
                ClusterIdentity(edge.rpc, genesis, where, clock).run(), name="cluster"))
            if not settings.rpc_url:  # the simulated market lives here: let it trade
                tasks.append(asyncio.create_task(sim.run(clock, settings.launch_rate),
                                                 name="market"))
            for task in tasks:
                task.add_done_callback(said_if_failed)
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

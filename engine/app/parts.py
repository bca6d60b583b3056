"""The composition root's engine: its parts, each made from the parts made before it, around a
store, a chain and venues made elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.access.keyring import KeyRing
from engine.access.limits import Buckets
from engine.api.sinks import websocket_frame
from engine.config import Settings
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
from engine.usecases import Access, Engine, Operations, Orders, Trading
from engine.usecases.orders import WaitingLimits
from engine.usecases.tokens import TokenDirectory


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
                      give_up=service.give_up, outage=outage, clock=clock,
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

"""Prometheus metrics, fed by the same events the WebSocket subscribers get."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from engine.domain.events import Accepted, Change, Failed, OrderEvent, Routed, Signed, StoredEvent
from engine.domain.order import Order
from engine.domain.status import OrderStatus

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """A publisher like the hub: every persisted status change passes through `publish`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.orders = Counter("engine_orders", "Orders that reached a final status",
                              ["type", "status"], registry=r)
        self.transitions = Counter("engine_transitions", "Status changes persisted and streamed",
                                   ["status"], registry=r)
        self.attempts = Counter("engine_attempts", "Signed transactions (execution attempts)",
                                registry=r)
        self.retries = Counter("engine_retries", "Attempts that followed a transient failure, "
                               "by the failure's code", ["code"], registry=r)
        self.failures = Counter("engine_failures", "Failed orders by error code", ["code"],
                                registry=r)
        self.refusals = Counter("engine_refusals", "Requests refused with a structured error, by "
                                "code (limits, keys, the door, bad input)", ["code"], registry=r)
        self.venue_wins = Counter("engine_venue_wins", "Routing decisions won, by venue (or split)",
                                  ["venue"], registry=r)
        self.submit_seconds = Histogram("engine_submit_seconds", "POST /api/orders/execute, from "
                                        "request to durable 201", buckets=LATENCY_BUCKETS,
                                        registry=r)
        self.stage_seconds = Histogram("engine_stage_seconds", "Time an order spent in a status "
                                       "before its next one", ["status"],
                                       buckets=LATENCY_BUCKETS, registry=r)
        # Per live order: its type and its last status and time (dropped when it ends).
        self._live: dict[str, tuple[str, str, datetime]] = {}
        # Looked up once: `labels()` costs more than the increment it leads to.
        self._transitions = {s: self.transitions.labels(s.value) for s in OrderStatus}
        self._stages = {s.value: self.stage_seconds.labels(s.value) for s in OrderStatus}

    def gauge(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        Gauge(name, documentation, registry=self.registry).set_function(read)

    def publish(self, event: OrderEvent, stored: StoredEvent,
                order: Order | None = None) -> None:
        self._transitions[event.status].inc()
        change = event.change
        kind = change.request.order_type.name if isinstance(change, Accepted) else "unknown"
        if event.order_id in self._live:
            kind, status, at = self._live[event.order_id]
            self._stages[status].observe((event.at - at).total_seconds())
        self._count(change, kind)
        if event.status.terminal:
            self._live.pop(event.order_id, None)
        else:
            self._live[event.order_id] = (kind, event.status.value, event.at)

    def _count(self, change: Change, kind: str) -> None:
        match change:
            case Routed(plan=plan, previous_error=previous):
                self.venue_wins.labels(plan.venue).inc()
                if previous is not None:  # routed afresh for the next attempt: a retry too
                    self.retries.labels(previous.code).inc()
            case Signed(previous_error=previous):
                self.attempts.inc()
                if previous is not None:
                    self.retries.labels(previous.code).inc()
            case Failed(error=error):
                self.failures.labels(error.code).inc()
        if change.status.terminal:
            self.orders.labels(kind, change.status.value).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

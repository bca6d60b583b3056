"""The engine's use cases: what the API may ask of it, by family, and nothing about how it
is built (the composition root, `engine.app`, makes each from collaborators it made). The
API calls these and never reaches past them into the store, the queue, the watcher or the
chain."""

from __future__ import annotations

from dataclasses import dataclass

from engine.usecases.access import Access
from engine.usecases.operations import Health, Operations
from engine.usecases.orders import Orders, Submitted
from engine.usecases.trading import Risk, Trading


@dataclass(frozen=True, slots=True)
class Engine:
    orders: Orders  # submit, cancel, read and follow orders
    access: Access  # API keys
    trading: Trading  # the trading state and limits, quotes, the wallet
    operations: Operations  # start, stop, take over, health, metrics


__all__ = ["Access", "Engine", "Health", "Operations", "Orders", "Risk", "Submitted", "Trading"]

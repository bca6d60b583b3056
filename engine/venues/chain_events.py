"""PubSub on the chain itself: `slotSubscribe` (each new slot) and `signatureSubscribe` (a
transaction's landing, once; at once if it landed already; `enableReceivedNotification` says
when it was received first), as a node sends them."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from engine.domain import base58
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError

Send = Callable[[dict[str, Any]], None]
ROOT_DEPTH = 32


class Chain(Protocol):
    slot_listeners: list[Callable[[int], None]]

    def landing(self, signature: str) -> tuple[int, Any] | None:
        """(its slot, its `err` as a node reports it) once the transaction landed."""

    def received(self, signature: str) -> bool: ...


@dataclass
class _Watch:
    method: str  # slotNotification or signatureNotification
    send: Send
    signature: str | None = None


class ChainEvents:
    METHODS = frozenset({"slotSubscribe", "signatureSubscribe"})

    def __init__(self, chain: Chain, first_id: int = 1_000_000) -> None:
        self._chain = chain
        self._watches: dict[int, _Watch] = {}
        self._ids = itertools.count(first_id)  # apart from the account subscriptions' numbers
        chain.slot_listeners.append(self._slot)

    def owns(self, number: int) -> bool:
        return number in self._watches

    @property
    def count(self) -> int:
        return len(self._watches)

    def subscribe(self, method: str, params: list[Any], send: Send) -> int:
        number = next(self._ids)
        if method == "slotSubscribe":
            self._watches[number] = _Watch("slotNotification", send)
            return number
        if not params or not isinstance(params[0], str) or not _is_signature(params[0]):
            raise RpcError(codes.INVALID_PARAMS, "Invalid params: a signature in base58")
        config = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        signature = params[0]
        self._watches[number] = _Watch("signatureNotification", send, signature)
        loop = asyncio.get_running_loop()  # after the subscription's own answer is sent
        if config.get("enableReceivedNotification") and self._chain.received(signature):
            loop.call_soon(self._tell, number, "receivedSignature")
        if self._chain.landing(signature) is not None:
            loop.call_soon(self._settled, number)
        return number

    def unsubscribe(self, number: int) -> bool:
        return self._watches.pop(number, None) is not None

    def _slot(self, slot: int) -> None:
        for number, watch in list(self._watches.items()):
            if watch.method == "slotNotification":
                watch.send(_message(watch.method, number, {
                    "parent": max(slot - 1, 0), "root": max(slot - ROOT_DEPTH, 0),
                    "slot": slot}))
            else:
                self._settled(number)

    def _settled(self, number: int) -> None:
        watch = self._watches.get(number)
        if watch is None or watch.signature is None:
            return
        landed = self._chain.landing(watch.signature)
        if landed is None:
            return
        del self._watches[number]  # a signature subscription ends with its notification
        slot, err = landed
        watch.send(_message(watch.method, number, {"context": {"slot": slot},
                                                   "value": {"err": err}}))

    def _tell(self, number: int, value: str) -> None:
        watch = self._watches.get(number)
        if watch is not None:
            watch.send(_message(watch.method, number, {"context": {"slot": 0}, "value": value}))


def _is_signature(text: str) -> bool:
    try:
        return len(base58.decode(text)) == 64
    except ValueError:
        return False


def _message(method: str, number: int, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method,
            "params": {"result": result, "subscription": number}}

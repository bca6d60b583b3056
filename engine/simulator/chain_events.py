"""PubSub on the chain itself, as a node sends it: `slotSubscribe` (each new slot),
`signatureSubscribe` (a transaction's landing, once; at once if it landed already;
`enableReceivedNotification` says when it was received first), `logsSubscribe` (each landed
transaction's logs: all, allWithVotes, or those mentioning an address), `blockSubscribe` (each
slot's block once the next slot begins: all, or mentioning an account or program),
`rootSubscribe`, `slotsUpdatesSubscribe` and `voteSubscribe` (the one validator's vote on each
slot)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.domain import base58
from engine.simulator import commitment, rpc_params
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError

Send = Callable[[dict[str, Any]], None]
GENESIS_UNIX_MS = 1_764_000_000_000


class Chain(Protocol):
    slot_listeners: list[Callable[[int], None]]

    @property
    def landing_listeners(self) -> list[Callable[[Any, Any, dict[str, Any]], None]]: ...

    def landing(self, signature: str) -> tuple[int, Any] | None:
        """(its slot, its `err` as a node reports it) once the transaction landed."""

    def received(self, signature: str) -> bool: ...

    def finalized_at(self) -> int | None:
        """The highest finalized slot now; None while no time passes (then a block is final
        at once: nothing else would ever root it for a subscriber, who cannot poll)."""


@dataclass
class _Watch:
    method: str  # the notification's name: slotNotification, logsNotification, ...
    send: Send
    signature: str | None = None
    mentions: str | None = None  # logs/blocks: only those naming this address
    config: dict[str, Any] | None = None
    final: bool = False  # told once its block is rooted (finalized, the default)
    held: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (slot, message)


PER_SLOT = {"slotsUpdatesSubscribe": "slotsUpdatesNotification",
            "rootSubscribe": "rootNotification", "voteSubscribe": "voteNotification",
            "slotSubscribe": "slotNotification"}


class ChainEvents:
    METHODS = frozenset({"slotSubscribe", "signatureSubscribe", "logsSubscribe",
                         "blockSubscribe", *PER_SLOT})

    def __init__(self, chain: Chain, first_id: int = 1_000_000,
                 block: Callable[[int, list[tuple[Any, dict[str, Any]]], dict[str, Any]],
                                 dict[str, Any]] | None = None,
                 vote: Callable[[int], dict[str, Any]] | None = None) -> None:
        self._chain, self._block, self._vote = chain, block, vote
        self._watches: dict[int, _Watch] = {}
        self._ids = itertools.count(first_id)  # apart from the account subscriptions' numbers
        self._slot_landings: dict[int, list[tuple[Any, dict[str, Any]]]] = {}
        chain.slot_listeners.append(self._slot)
        chain.landing_listeners.append(self._landed)

    def owns(self, number: int) -> bool:
        return number in self._watches

    @property
    def count(self) -> int:
        return len(self._watches)

    def subscribe(self, method: str, params: list[Any], send: Send) -> int:
        number = next(self._ids)
        if method in PER_SLOT:
            self._watches[number] = _Watch(PER_SLOT[method], send)
            return number
        config = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        final = commitment.asked(config) == "finalized"
        if method == "logsSubscribe":
            self._watches[number] = _Watch("logsNotification", send, final=final,
                                           mentions=_mentions(params, "mentions"))
            return number
        if method == "blockSubscribe":
            commitment.at_least_confirmed(config)
            self._watches[number] = _Watch("blockNotification", send, config=config,
                                           final=final, mentions=_mentions(
                                               params, "mentionsAccountOrProgram"))
            return number
        rpc_params.length(params, 1, 2)
        rpc_params.signature(params[0])
        signature = params[0]
        self._watches[number] = _Watch("signatureNotification", send, signature, final=final)
        loop = asyncio.get_running_loop()  # after the subscription's own answer is sent
        if config.get("enableReceivedNotification") and self._chain.received(signature):
            loop.call_soon(self._tell, number, "receivedSignature")
        if self._chain.landing(signature) is not None:
            loop.call_soon(self._settled, number)
        return number

    def unsubscribe(self, number: int) -> bool:
        return self._watches.pop(number, None) is not None

    def _slot(self, slot: int) -> None:
        done = sorted(s for s in self._slot_landings if s < slot)  # their blocks are complete
        blocks = {s: self._slot_landings.pop(s) for s in done}
        root, final = commitment.root(slot), self._chain.finalized_at()
        for number, watch in list(self._watches.items()):
            method = watch.method
            if watch.held:  # logs and blocks held for a finalized subscriber, now rooted
                ready = [told for at, told in watch.held if final is None or at <= final]
                watch.held = watch.held[len(ready):]
                for told in ready:
                    watch.send(told)
            if method == "slotNotification":
                watch.send(_message(method, number, {"parent": max(slot - 1, 0), "root": root,
                                                     "slot": slot}))
            elif method == "rootNotification":
                watch.send(_message(method, number, root))
            elif method == "slotsUpdatesNotification":
                for update in _slot_updates(slot):
                    watch.send(_message(method, number, update))
            elif method == "voteNotification" and self._vote is not None:
                watch.send(_message(method, number, self._vote(slot)))
            elif method == "blockNotification" and self._block is not None:
                for done_slot, landed in blocks.items():
                    self._send_block(number, watch, done_slot, landed)
            elif method == "signatureNotification":
                self._settled(number)

    def _landed(self, message: Any, landed: Any, meta: dict[str, Any]) -> None:
        keys = {str(k) for k in message.account_keys}
        if any(w.method == "blockNotification" for w in self._watches.values()):
            self._slot_landings.setdefault(landed.slot, []).append((message, meta))
        for number, watch in list(self._watches.items()):
            if watch.method != "logsNotification":
                continue
            if watch.mentions is not None and watch.mentions not in keys:
                continue
            self._deliver(watch, landed.slot, _message(watch.method, number, {
                "context": {"slot": landed.slot}, "value": {
                    "signature": landed.signature, "err": meta.get("err"),
                    "logs": meta.get("logMessages", [])}}))

    def _deliver(self, watch: _Watch, slot: int, told: dict[str, Any]) -> None:
        """Send now, or, to a finalized subscriber while its slot is not rooted, once it is."""
        root = self._chain.finalized_at()
        if watch.final and root is not None and slot > root:
            watch.held.append((slot, told))
        else:
            watch.send(told)

    def _send_block(self, number: int, watch: _Watch, slot: int,
                    landed: list[tuple[Any, dict[str, Any]]]) -> None:
        if watch.mentions is not None:
            landed = [(m, meta) for m, meta in landed
                      if watch.mentions in {str(k) for k in m.account_keys}]
            if not landed:
                return
        assert self._block is not None
        block = self._block(slot, [(m.payload, meta) for m, meta in landed], watch.config or {})
        self._deliver(watch, slot, _message(watch.method, number, {
            "context": {"slot": slot}, "value": {"slot": slot, "err": None, "block": block}}))

    def _settled(self, number: int) -> None:
        watch = self._watches.get(number)
        if watch is None or watch.signature is None:
            return
        landed = self._chain.landing(watch.signature)
        if landed is None:
            return
        slot, err = landed
        root = self._chain.finalized_at()
        if watch.final and root is not None and slot > root:
            return  # told once its block is rooted, 32 slots on
        del self._watches[number]  # a signature subscription ends with its notification
        watch.send(_message(watch.method, number, {"context": {"slot": slot},
                                                   "value": {"err": err}}))

    def _tell(self, number: int, value: str) -> None:
        watch = self._watches.get(number)
        if watch is not None:
            watch.send(_message(watch.method, number, {"context": {"slot": 0}, "value": value}))


def _mentions(params: list[Any], key: str) -> str | None:
    """The address a logs or block filter names ({"mentions": [address]}), or None for all."""
    wanted = params[0] if params else "all"
    if wanted in ("all", "allWithVotes"):
        return None
    if isinstance(wanted, dict) and key in wanted:
        named = wanted[key]
        named = named[0] if isinstance(named, list) and len(named) == 1 else named
        if isinstance(named, str) and base58.is_public_key(named):
            return named
    raise RpcError(codes.INVALID_PARAMS, f"Invalid params: a filter is \"all\" or "
                                         f"{{\"{key}\": [one address]}}")


def _slot_updates(slot: int) -> list[dict[str, Any]]:
    """What a validator reports of a slot as it goes: its bank made, then frozen."""
    stamp = GENESIS_UNIX_MS + int(slot * 400)
    return [{"type": "createdBank", "slot": slot, "parent": max(slot - 1, 0),
             "timestamp": stamp},
            {"type": "frozen", "slot": slot, "timestamp": stamp + 400, "stats": {
                "numTransactionEntries": 0, "numSuccessfulTransactions": 0,
                "numFailedTransactions": 0, "maxTransactionsPerEntry": 0}}]




def _message(method: str, number: int, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "method": method,
            "params": {"result": result, "subscription": number}}

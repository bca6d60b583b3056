"""The simulated cluster's PubSub: `accountSubscribe` and `programSubscribe`, notified when a
pool's accounts change (a landing, other traders' swaps, a launch), with the slot of the change."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from solders.pubkey import Pubkey

from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError
from engine.solana.pool_accounts import Account

Send = Callable[[dict[str, Any]], None]  # one notification, as the JSON-RPC message


class PoolMarket(Protocol):
    """The world as the PubSub sees it: which pools a change touched, and their accounts."""

    listeners: list[Callable[[set[frozenset[str]] | None], None]]

    def pools_of(self, pairs: set[frozenset[str]] | None) -> list[str]: ...

    def pool_accounts(self, pool_id: str) -> dict[Pubkey, Account]: ...

    def slot(self) -> int: ...


@dataclass
class _Subscription:
    method: str  # accountNotification or programNotification
    target: Pubkey
    send: Send
    sent: dict[Pubkey, bytes] = field(default_factory=dict)  # what it was told last


class PubSub:
    def __init__(self, market: PoolMarket) -> None:
        self._market = market
        self._subscriptions: dict[int, _Subscription] = {}
        self._ids = itertools.count(1)
        market.listeners.append(self._changed)

    def subscribe(self, method: str, params: list[Any], send: Send) -> int:
        kinds = {"accountSubscribe": "accountNotification",
                 "programSubscribe": "programNotification"}
        if method not in kinds or not params or not isinstance(params[0], str):
            raise RpcError(codes.INVALID_PARAMS, f"cannot subscribe with {method}")
        config = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        if config.get("encoding", "base64") != "base64":
            raise RpcError(codes.INVALID_PARAMS, "this cluster sends base64 accounts only")
        number = next(self._ids)
        self._subscriptions[number] = _Subscription(kinds[method],
                                                    Pubkey.from_string(params[0]), send)
        return number

    def unsubscribe(self, number: int) -> bool:
        return self._subscriptions.pop(number, None) is not None

    @property
    def count(self) -> int:
        return len(self._subscriptions)

    def _changed(self, pairs: set[frozenset[str]] | None) -> None:
        if not self._subscriptions:
            return
        slot = self._market.slot()
        for pool_id in self._market.pools_of(pairs):
            accounts = self._market.pool_accounts(pool_id)
            for number, sub in list(self._subscriptions.items()):
                for address, account in accounts.items():
                    wanted = (address == sub.target if sub.method == "accountNotification"
                              else account.owner == sub.target)
                    if not wanted or sub.sent.get(address) == account.data:
                        continue
                    sub.sent[address] = account.data
                    sub.send(_notification(sub.method, number, slot, address, account))


def _notification(method: str, number: int, slot: int, address: Pubkey,
                  account: Account) -> dict[str, Any]:
    value = {"data": [base64.b64encode(account.data).decode(), "base64"],
             "executable": account.executable, "lamports": account.lamports, "owner": str(account.owner),
             "rentEpoch": 18446744073709551615, "space": len(account.data)}
    if method == "programNotification":
        value = {"pubkey": str(address), "account": value}
    return {"jsonrpc": "2.0", "method": method, "params": {
        "result": {"context": {"slot": slot}, "value": value}, "subscription": number}}

"""The simulated cluster's PubSub: `accountSubscribe` and `programSubscribe` (with its
filters), notified when an account changes: a pool's (a landing, other traders' swaps, a
launch), any account a landed transaction named, and the Clock sysvar at each slot (as a
validator writes it every slot), with the slot of the change, in the encoding asked for. At
`finalized`, the default, a change is told once its slot is rooted, 32 slots on."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from solders.pubkey import Pubkey

from engine.simulator import commitment, rpc_params
from engine.simulator.encoding import encode_account, encoding_of, passes_filter
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError
from engine.solana.pool_accounts import Account
from engine.solana.programs import AMM_V4, CLOCK_SYSVAR, CPMM, DLMM

Send = Callable[[dict[str, Any]], None]  # one notification, as the JSON-RPC message


class PoolMarket(Protocol):
    """The world as the PubSub sees it: which pools a change touched, and the slot."""

    listeners: list[Callable[[set[frozenset[str]] | None], None]]
    slot_listeners: list[Callable[[int], None]]

    @property
    def landing_listeners(self) -> list[Callable[[Any, Any, dict[str, Any]], None]]: ...

    def pools_of(self, pairs: set[frozenset[str]] | None) -> list[str]: ...

    def slot(self) -> int: ...

    def finalized_at(self) -> int | None:
        """The root now; None while no time passes (then every change is final at once)."""

    @property
    def runs_any_program(self) -> bool: ...


class AccountsReader(Protocol):
    """The cluster's accounts, as the PubSub reads them for its notifications."""

    def accounts(self, addresses: Sequence[Pubkey]) -> list[Account | None]: ...

    def is_pool_account(self, address: Pubkey) -> bool: ...

    def pool_accounts(self, pool_id: str) -> dict[Pubkey, Account]: ...


@dataclass
class _Subscription:
    method: str  # accountNotification or programNotification
    target: Pubkey
    send: Send
    config: dict[str, Any] = field(default_factory=dict)  # encoding, filters
    sent: dict[Pubkey, tuple[bytes, int]] = field(default_factory=dict)  # told last
    # At finalized (the default), a change is told once its slot is rooted: until then its
    # notification waits here, the newest of each account's by its slot.
    final: bool = False
    held: dict[Pubkey, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)

    def wants(self, address: Pubkey, account: Account) -> bool:
        if self.method == "accountNotification":
            return address == self.target
        return account.owner == self.target and all(
            passes_filter(account.data, rule) for rule in self.config.get("filters") or [])


POOL_PROGRAMS = frozenset({AMM_V4, CPMM, DLMM})


class PubSub:
    def __init__(self, market: PoolMarket, accounts: AccountsReader) -> None:
        self._market, self._accounts = market, accounts
        self._subscriptions: dict[int, _Subscription] = {}
        # The same, by what they watch (an account's address, or a program's): who to ask.
        self._by_target: dict[Pubkey, dict[int, _Subscription]] = {}
        self._ids = itertools.count(1)
        self._told: dict[str, object] = {}  # pool id -> the accounts object told last
        self._pending: set[str] = set()  # pools changed since the last flush
        self._flushing = False
        market.listeners.append(self._changed)
        market.landing_listeners.append(self._landed)
        market.slot_listeners.append(self._slot)

    def subscribe(self, method: str, params: list[Any], send: Send) -> int:
        kinds = {"accountSubscribe": "accountNotification",
                 "programSubscribe": "programNotification"}
        if method not in kinds:
            raise RpcError(codes.INVALID_PARAMS, f"cannot subscribe with {method}")
        rpc_params.length(params, 1, 2)
        target = rpc_params.pubkey(params[0])
        config = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        encoding_of(config, "base64")  # -32602 for one it does not know
        filters = config.get("filters") or []
        if method == "accountSubscribe" and filters:
            raise RpcError(codes.INVALID_PARAMS, "accountSubscribe takes no filters")
        try:
            for rule in filters:  # checked now: a bad filter is the subscriber's error
                passes_filter(b"", rule)
        except (KeyError, TypeError, ValueError):
            raise RpcError(codes.INVALID_PARAMS, "Invalid params: a filter is {dataSize} or "
                                                 "{memcmp: {offset, bytes}}") from None
        number = next(self._ids)
        sub = _Subscription(kinds[method], target, send, config,
                            final=commitment.asked(config) == "finalized")
        self._subscriptions[number] = sub
        self._by_target.setdefault(sub.target, {})[number] = sub
        return number

    def unsubscribe(self, number: int) -> bool:
        sub = self._subscriptions.pop(number, None)
        if sub is None:
            return False
        same = self._by_target[sub.target]
        del same[number]
        if not same:
            del self._by_target[sub.target]
        return True

    @property
    def count(self) -> int:
        return len(self._subscriptions)

    def _changed(self, pairs: set[frozenset[str]] | None) -> None:
        """Pools of these pairs changed: their accounts are told once the changes of this
        turn of the event loop are all in, as a node tells an account once a slot however
        often it was written (under load, many landings and other traders' swaps share a
        turn; each pool is encoded once for all of them)."""
        if not self._subscriptions:
            return
        self._pending.update(self._market.pools_of(pairs))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a script driving the market): tell them now
            self._flush()
            return
        if not self._flushing:
            self._flushing = True
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flushing = False
        pending, self._pending = self._pending, set()
        for pool_id in sorted(pending):
            accounts = self._accounts.pool_accounts(pool_id)
            if self._told.get(pool_id) is accounts:  # the very accounts told last: unchanged
                continue
            self._told[pool_id] = accounts
            self._tell(accounts.items())

    def _slot(self, slot: int) -> None:
        """A new slot: the Clock sysvar changed (its slot and unix time), for any listener;
        and the root moved, so changes held for finalized subscribers may now be told."""
        if CLOCK_SYSVAR in self._by_target:
            clock = self._accounts.accounts([CLOCK_SYSVAR])[0]
            if clock is not None:
                self._tell([(CLOCK_SYSVAR, clock)])
        root = self._market.finalized_at()
        for sub in self._subscriptions.values():
            if sub.held:
                _release(sub, root)

    def _landed(self, message: Any, landed: Any, meta: dict[str, Any]) -> None:
        """Every account a landed transaction may have written, as it is now (a transfer's,
        a token account's: not only pools')."""
        if not self._subscriptions:
            return
        # A pool's accounts are told by `_changed`; the others only if someone listens.
        accounts = {s.target for s in self._subscriptions.values()
                    if s.method == "accountNotification"}
        # Without the programs' runtime, a pool program owns nothing but its pools' accounts
        # (the model runs no other of its instructions): subscribers to those programs alone
        # need no other account read.
        only_pools = () if self._market.runs_any_program else POOL_PROGRAMS
        any_owner = any(s.method == "programNotification" and s.target not in only_pools
                        for s in self._subscriptions.values())
        # Only an account the transaction may write can have changed.
        keys = [key for key in message.writable if not self._accounts.is_pool_account(key)
                and (any_owner or key in accounts)]
        if not keys:
            return
        found = self._accounts.accounts(keys)
        self._tell([(key, account) for key, account in zip(keys, found, strict=True)
                    if account is not None])

    def _tell(self, accounts: Iterable[tuple[Pubkey, Account]]) -> None:
        slot, timeless = self._market.slot(), self._market.finalized_at() is None
        targets = self._by_target
        for address, account in accounts:
            # Only those subscribed to this account or to its owner can want it.
            for number, sub in [*targets.get(address, {}).items(),
                                *targets.get(account.owner, {}).items()]:
                state = (account.data, account.lamports)
                if not sub.wants(address, account) or sub.sent.get(address) == state:
                    continue
                sub.sent[address] = state
                told = _notification(sub, number, slot, address, account)
                if sub.final and not timeless:
                    held = sub.held.setdefault(address, [])
                    if held and held[-1][0] == slot:
                        held.pop()  # a slot is told as it ended, once
                    held.append((slot, told))
                else:
                    sub.send(told)


def _release(sub: _Subscription, root: int | None) -> None:
    """Tell a finalized subscriber each account as its newest rooted change left it (a root
    that jumped several slots tells only the last of them, as a node compares the rooted
    account with what it told last); the rest waits."""
    for address, held in list(sub.held.items()):
        ready = [told for slot, told in held if root is None or slot <= root]
        if not ready:
            continue
        sub.send(ready[-1])
        rest = held[len(ready):]
        if rest:
            sub.held[address] = rest
        else:
            del sub.held[address]


def _notification(sub: _Subscription, number: int, slot: int, address: Pubkey,
                  account: Account) -> dict[str, Any]:
    value: Any = encode_account(account, sub.config, "base64")
    if sub.method == "programNotification":
        value = {"pubkey": str(address), "account": value}
    return {"jsonrpc": "2.0", "method": sub.method, "params": {
        "result": {"context": {"slot": slot}, "value": value}, "subscription": number}}

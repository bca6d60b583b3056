"""The engine's seams: storage, venues, the chain, time. Adapters implement these Protocols,
and raise only the errors declared here or in `engine.domain.errors`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from engine.domain.access import ApiKey, Scope
from engine.domain.events import OrderEvent, StoredEvent
from engine.domain.order import Order
from engine.domain.risk import TradingState
from engine.domain.routing import Quote
from engine.domain.status import OrderStatus
from engine.domain.transactions import (
    Blockhash,
    Landed,
    Memo,
    SignedTransaction,
    SwapInstruction,
    TokenBalance,
)


class StaleOrder(RuntimeError):
    """The stored order is not at the seq and status this write expected: someone else moved it."""


class StorageError(RuntimeError):
    """The store could not read or write (disk, I/O); a refused write stored nothing of itself."""


class DuplicateKey(ValueError):
    """Another order took this idempotency key first (another engine, at the same moment)."""


class KeyNameTaken(ValueError):
    """An API key with that name exists (names are how keys are listed and revoked)."""


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, UTC."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


@dataclass(frozen=True, slots=True)
class Page:
    orders: list[Order]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    key: str
    fingerprint: str
    order_id: str = ""


class EventCodec(Protocol):
    """An event's bytes as stored and streamed, rendered once (at its feed position) by the
    API's codec, and the positions read back from them: the store keeps them, never shapes
    them."""

    def body(self, order: Order, event: OrderEvent, gseq: int) -> bytes: ...

    def stored(self, body: bytes, owner: str | None) -> StoredEvent: ...


class OrderStore(Protocol):
    async def create(self, order: Order, event: OrderEvent,
                     key: IdempotencyKey | None = None) -> StoredEvent:
        """Insert a new order, its first event and its idempotency key, atomically.

        Returns the event as stored, with its place in the feed (`gseq`)."""

    async def find_key(self, key: str) -> IdempotencyKey | None: ...

    async def forget_keys(self, before: datetime) -> int: ...

    def record(self, order: Order, event: OrderEvent,
               previous: OrderStatus) -> asyncio.Future[StoredEvent]:
        """Queue an order's new state and the event that led to it, to be persisted atomically
        and in the order queued; the future resolves with the stored event once durable.

        Refused (StaleOrder) unless the stored order is still at `previous` and seq - 1."""

    async def last_gseq(self) -> int: ...

    async def feed(self, after: int, limit: int) -> list[StoredEvent]:
        """All orders' events with `gseq > after`, in feed order."""

    async def get(self, order_id: str) -> Order | None: ...

    async def events(self, order_id: str, after: int = 0) -> list[StoredEvent]: ...

    async def page(self, status: OrderStatus | None, limit: int, cursor: str | None,
                   owner: str | None = None) -> Page:
        """Newest first, `limit` at most, continuing after `cursor` (keyset, no OFFSET); only
        the orders of `owner` when given."""

    async def unfinished(self) -> list[Order]:
        """Every order not yet in a terminal status, oldest first."""

    @property
    def shared(self) -> bool:
        """Whether other engine processes may use this store too (then orders are leased)."""

    async def claim_unfinished(self) -> list[Order]:
        """The unfinished orders this process may now execute or watch: all of them for a
        store of its own; for a shared one, those whose lease expired (their process died),
        now leased to this one. Oldest first."""

    async def renew_leases(self) -> int:
        """Extend this process's leases on its unfinished orders; how many."""

    async def watch_feed(self, notify: Callable[[int], None]) -> None:
        """Call `notify(gseq)` when another process commits events (a shared store)."""

    async def close(self) -> None:
        """Finish what is queued, then release the store."""

    async def api_keys(self) -> list[ApiKey]:
        """Every API key ever created, revoked ones included, oldest first."""

    async def add_key(self, key: ApiKey) -> None:
        """Store a new key (its hash); raises KeyNameTaken when the name is in use."""

    async def revoke_key(self, name: str, at: datetime) -> bool:
        """Revoke the active key of that name; False when there is none."""

    async def set_key_scope(self, name: str, scope: Scope) -> bool:
        """Change the scope of the active key of that name; False when there is none."""

    async def keep_marks(self, marks: Sequence[tuple[str, Decimal]]) -> None:
        """Keep waiting trailing stops' high-water marks, (order id, mark), in one write."""

    async def trading_state(self) -> TradingState:
        """The trading state an operator last set (active when never set)."""

    async def set_trading_state(self, state: TradingState) -> None:
        """Keep the trading state across restarts."""

    async def engine_value(self, key: str) -> str | None:
        """A value the engine keeps about itself (`keys_unlocked_at`, `genesis_hash`)."""

    async def set_engine_value(self, key: str, value: str) -> None:
        """Keep it, replacing what was kept under that key."""


class Venue(Protocol):
    """A DEX a real Raydium or Meteora SDK client could stand behind."""

    name: str

    def has_pair(self, mint_in: str, mint_out: str) -> bool:
        """Whether any pool of this venue trades the pair (from the venue's pool index)."""

    async def quote(self, mint_in: str, mint_out: str, amount_in: int) -> Quote | None:
        """The venue's best pool for this amount, net of fees; None if it has no pool."""

    async def quote_exact_out(self, mint_in: str, mint_out: str,
                              amount_out: int) -> Quote | None:
        """The venue's cheapest pool to receive exactly `amount_out`; the quote's `amount_in`
        is what it would take, fees included. None if no pool can pay it."""

    def problems(self) -> list[str]:
        """Pools this venue leaves out of its quotes, and why (for /healthz)."""


class SolanaRpc(Protocol):
    """Solana's JSON-RPC methods the engine calls, by their real names, taking and returning
    the JSON's shapes; errors raise `engine.solana.jsonrpc.RpcError` with the node's code."""

    async def get_health(self) -> str:
        """"ok"; a node that cannot serve raises (-32005 unhealthy or behind, or no answer)."""

    async def get_latest_blockhash(self) -> Any: ...

    async def get_block_height(self) -> int: ...

    async def get_slot(self, commitment: str | None = None) -> int: ...

    async def get_genesis_hash(self) -> str: ...

    async def get_version(self) -> dict[str, Any]: ...

    async def send_transaction(self, tx: str, *, skip_preflight: bool = False) -> str: ...

    async def simulate_transaction(self, tx: str) -> Any: ...

    async def get_signature_statuses(self, signatures: Sequence[str]) -> Any: ...

    async def get_transaction(self, signature: str) -> Any: ...

    async def get_recent_prioritization_fees(self, accounts: Sequence[str]) -> Any: ...

    async def get_balance(self, pubkey: str) -> int: ...

    async def get_token_accounts_by_owner(self, owner: str, program: str) -> Any: ...

    async def get_multiple_accounts(self, pubkeys: Sequence[str]) -> Any: ...

    async def get_program_accounts(self, program: str, data_size: int) -> Any: ...

    async def account_subscribe(self, pubkey: str, notify: Callable[[Any], None]) -> int:
        """accountSubscribe (PubSub): `notify` gets each accountNotification's params."""

    async def program_subscribe(self, program: str, notify: Callable[[Any], None]) -> int:
        """programSubscribe (PubSub): `notify` gets each programNotification's params."""

    async def unsubscribe(self, method: str, number: int) -> None:
        """accountUnsubscribe or programUnsubscribe (`method`) of a subscription made on the
        connection open now: nothing more of it is told."""

    @property
    def connection(self) -> int | None:
        """The PubSub connection open now, by number (None: none is). Subscriptions are made
        on one and die with it; a new one has a new number and none of the old ones."""

    async def close(self) -> None: ...


class Chain(Protocol):
    """What the engine does with a cluster: sign (the wallet's key stays behind this call),
    send, confirm, reconcile, read balances. Implemented over `SolanaRpc`."""

    @property
    def address(self) -> str:
        """The wallet's public key (base58): the fee payer and owner of its token accounts."""

    async def health(self) -> None:
        """Return when the node can serve; raise an EngineError saying why it cannot (down,
        unhealthy or behind, as its getHealth says)."""

    async def latest_blockhash(self) -> Blockhash: ...

    async def sign(self, instructions: Sequence[SwapInstruction], blockhash: Blockhash,
                   memo: Memo, priority: str | int = "auto") -> SignedTransaction:
        """Build, size (simulateTransaction) and sign a transaction. `priority`: "auto" or
        "high" (from the recent fees on its accounts), or micro-lamports per compute unit."""

    async def send(self, tx: SignedTransaction) -> None:
        """sendTransaction; raises a TransientError (SendTimeout when the outcome is unknown)."""

    async def confirm(self, tx: SignedTransaction) -> Landed | None:
        """Wait until `tx` is confirmed, or None once its blockhash expired without it landing."""

    async def signature_status(self, signature: str) -> Landed | None:
        """getSignatureStatuses with history (plus getTransaction for the amounts)."""

    async def balances(self) -> list[TokenBalance]:
        """The wallet's balances: getBalance and getTokenAccountsByOwner."""

    async def mint_decimals(self, mint: str) -> int | None:
        """The decimals the SPL Token mint at `mint` declares; None where there is no mint.
        Raises a TransientError when the node cannot be asked."""

    async def close(self) -> None:
        """Let go of connections (an HTTP session to the node)."""


class Publisher(Protocol):
    """Told of each event once it is durable: the typed event, its stored form and the order
    after it. The one way the engine's parts react to an order's events (the streams, the
    metrics, the waking of waiting orders, a TWAP's slices, the other engine processes)."""

    def publish(self, event: OrderEvent, stored: StoredEvent, order: Order) -> None: ...


class Market(Protocol):
    """The simulated market's controls that the API exposes (`/api/sim/*`)."""

    def is_known_mint(self, mint: str) -> bool:
        """Whether the mint is listed, launched or scheduled for launch already."""

    def problems(self) -> list[str]:
        """What is wrong in the market now (a pool frozen after a failure), for /healthz."""

    def launch(self, *, mint: str | None, venue: str | None, quote: str, price: Decimal | None,
               liquidity: Decimal | None, slot: int | None) -> dict[str, Any]:
        """A new token and its first pool; the answer is the API's JSON object."""

"""A simulated Solana cluster: slots, blockhashes, signed transactions verified and executed,
a fee market, transient failures, and a durable ledger. The JSON-RPC face is `rpc_server`."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable, Mapping
from typing import Any

from solders.pubkey import Pubkey

from engine.domain import base58
from engine.domain.errors import BlockhashNotFound, InsufficientFunds, SendTimeout
from engine.domain.tokens import WSOL_MINT
from engine.domain.transactions import Blockhash, Landed
from engine.ports import Clock
from engine.simulator.blockhashes import BLOCKHASH_VALIDITY, Blockhashes
from engine.simulator.execution import (
    Executor,
    Outcome,
    Runs,
    SwapProgram,
    fee_payer_lamports,
    token_balances,
)
from engine.simulator.faults import Faults, random_transient
from engine.simulator.fees import FeeMarket
from engine.simulator.history import History
from engine.simulator.ledger import ChainRecord, Later
from engine.simulator.lookup_tables import TableModel, WithTables
from engine.simulator.message import Message
from engine.simulator.refusals import AlreadyProcessed, WalletMismatch, preflight_check
from engine.simulator.slots import SLOT_SECONDS, Slots
from engine.simulator.wallet import Wallet
from engine.solana.programs import PoolInfo
from engine.solana.transaction import Tables

GENESIS_UNIX = 1_764_000_000


class SimChain:
    def __init__(self, programs: Mapping[str, SwapProgram], rng: random.Random, clock: Clock, *,
                 latency_scale: float, failure_rate: float, faults: Faults, wallet: Wallet,
                 pools: Callable[[Pubkey], PoolInfo | None] = lambda address: None,
                 on_slot: Callable[[int, int], set[frozenset[str]]] = lambda slot, now: set(),
                 on_change: Callable[[set[frozenset[str]]], None] = lambda pairs: None,
                 record: ChainRecord | None = None,
                 snapshot: Callable[[Message], dict[str, Later]] = lambda message: {},
                 funded: str | None = None,
                 runs: Callable[[SimChain], Runs] | None = None,
                 tables: Tables | None = None) -> None:
        self._rng, self._clock, self._pools = rng, clock, pools
        self._scale, self._failure_rate, self.faults = latency_scale, failure_rate, faults
        self.wallet, self._on_slot, self._on_change = wallet, on_slot, on_change
        self._record, self._snapshot = record, snapshot
        self.fees = FeeMarket(random.Random(rng.random()))
        # The model runs the swaps, unless the programs' bytecode does (`runs`).
        self.execution = "model" if runs is None else "bytecode"
        # Lookup tables: the model's own, unless the runtime holds them (`tables` reads them).
        self.tables = TableModel(lambda: self.block_height, lambda: self.wallet,
                                 lambda: self.owner)
        self._tables = tables or self.tables.usable
        self._executor: Runs = (runs(self) if runs is not None else WithTables(
            Executor(programs, lambda: self.wallet, faults.slips), self.tables))
        # The wallet's public key, from configuration (the engine's keypair, or the cluster's
        # --fund): never whoever asks first. None: no wallet holds money on this cluster.
        self.owner: str | None = funded
        self.slots = Slots(clock, latency_scale)
        self._landed = 0
        self._flowed = 0  # the last slot whose market activity has run
        self.history = History(record)
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._backlog: list[str] = []  # payloads sent before a restart, not yet landed
        self.blockhashes = Blockhashes(lambda: self.block_height)
        # Told of each landing: its message, what landed, and getTransaction's meta (PubSub).
        self.landing_listeners: list[Callable[[Message, Landed, dict[str, Any]], None]] = []
        if record is not None:
            self._load(record)

    def _load(self, record: ChainRecord) -> None:
        """Continue the cluster where its record stops; what was in flight lands now."""
        meta = record.meta("chain")
        if meta is None:
            record.initialise({"chain": self._counters()})
            return
        self.slots.load(meta)
        self._landed, self._flowed = meta["landed"], meta["flowed"]
        recorded = meta.get("owner")
        if recorded and self.owner and recorded != self.owner:
            raise WalletMismatch(f"this cluster's record funds the wallet {recorded}; the "
                                 f"configuration names {self.owner} (start afresh with "
                                 "another record, or fund the recorded wallet)")
        self.owner = self.owner or recorded
        self.history.load(since_slot=self.block_height - BLOCKHASH_VALIDITY - 1)
        self._backlog = [payload for _, payload, _ in record.in_flight()]

    @property
    def genesis_hash(self) -> str:
        """This cluster's identity, as a node's getGenesisHash answers it: fixed at its first
        start and kept by its record, different for every cluster started afresh."""
        return base58.encode(hashlib.sha256(f"genesis {self.slots.genesis.isoformat()}".encode())
                             .digest())

    def _counters(self) -> dict[str, Any]:
        return {**self.slots.counters(), "landed": self._landed, "flowed": self._flowed,
                "owner": self.owner}

    def _land_backlog(self) -> None:
        while self._backlog:
            self._settle(self.read(self._backlog.pop(0)))

    # -- time --------------------------------------------------------------------------------
    @property
    def block_height(self) -> int:
        return self.slots.height

    def travel_to(self, height: int) -> None:
        """Move the cluster forward to `height` (a test's cheatcode); never back."""
        self.slots.travel_to(height)
        self.keep({"chain": self._counters()})

    def pause(self) -> None:
        """Stop the slots (a test's cheatcode): until `resume`, time stands still."""
        self.slots.pause()

    def resume(self) -> None:
        if self.slots.resume():
            self.keep({"chain": self._counters()})

    def now(self) -> int:
        """The cluster's unix time at the current slot. A read: it changes nothing."""
        return GENESIS_UNIX + int(self.block_height * SLOT_SECONDS)

    def advance(self) -> None:
        """Let the market live through the slots that passed (other traders' swaps), once each.

        Run by the market's clock task every slot, and by the cluster itself around a landing,
        never by a quote: reads only read."""
        height = self.block_height
        moved: set[frozenset[str]] = set()
        for slot in range(max(self._flowed + 1, height - 32), height + 1):
            moved |= self._on_slot(slot, GENESIS_UNIX + int(slot * SLOT_SECONDS))
        self._flowed = max(self._flowed, height)
        if moved:
            self._on_change(moved)

    def idle(self) -> None:
        """A client waits on a transaction that is not coming, or not yet finalized: with no
        time passing (latency scale 0), each such wait is a block, so that blockhashes still
        expire and blocks are still rooted."""
        if self.slots.no_time:
            self.slots.skipped += 1
            self.advance()
            if self._record is not None:
                self._record.put_meta({"chain": self._counters()})

    # -- blockhashes -------------------------------------------------------------------------
    def latest_blockhash(self, height: int | None = None) -> Blockhash:
        """The newest blockhash, or the one of the block at `height` (a commitment's)."""
        return self.blockhashes.latest() if height is None else self.blockhashes.at(height)

    def blockhash_valid(self, blockhash: str, height: int | None = None) -> bool:
        return self.blockhashes.valid(blockhash, height)

    @property
    def transaction_count(self) -> int:
        """Transactions landed since genesis (getTransactionCount)."""
        return self._landed

    def read(self, payload: str, *, verify: bool = True) -> Message:
        """Parse and verify a transaction (raises `Rejected`)."""
        return Message.read(payload, self._pools, self.blockhashes.expiry, verify=verify,
                            any_program=self.execution == "bytecode", tables=self._tables)

    # -- transactions ------------------------------------------------------------------------
    async def send(self, payload: str, *, preflight: bool = True, faults: bool = True,
                   bank: int | None = None) -> str:
        """sendTransaction: verify, deduplicate, preflight, and let it land; its signature.
        `faults`: whether the node's transient failures and scripted faults may strike (not
        for the cluster's own transactions, such as its faucet's); `bank`: the slot the
        preflight reads at (its commitment's), whose blockhashes it knows (the newest: None)."""
        delay = self._rng.uniform(0.02, 0.06) * self._scale
        if delay > 0:  # the node's answer takes that long; with no time passing, none
            await self._clock.sleep(delay)
        self._land_backlog()
        message = self.read(payload)
        signature = message.signature
        if signature in self._in_flight:
            return signature  # a rebroadcast of one still in flight: one copy lands
        scripted = self.faults.send_error(message.order_id, message.attempt) if faults else None
        if scripted is not None:
            raise scripted(f"scripted {scripted.code} for attempt {message.attempt}")
        error = random_transient(self._rng, self._failure_rate) if faults else None
        if error is not None and error is not SendTimeout:
            raise error(f"simulated transient {error.code}")
        expired = message.last_valid_height < self.block_height
        # A preflight at an older bank (finalized) does not know a blockhash newer than it.
        unknown = preflight and bank is not None and not self.blockhash_valid(
            message.recent_blockhash, bank)
        if expired or unknown:
            raise BlockhashNotFound(f"blockhash {message.recent_blockhash[:8]}... not found")
        if signature in self.history:  # its blockhash is live, so its landing is in memory
            raise AlreadyProcessed(signature)
        if message.fee_payer != self.owner and self.execution == "model":  # with programs,
            raise InsufficientFunds(f"AccountNotFound: {message.fee_payer} holds no SOL")  # it runs
        preflight_check(self._executor, message, self.now(),
                        self.wallet.balances.get(WSOL_MINT, 0), simulate=preflight,
                        bytecode=self.execution == "bytecode")
        if not (faults and self.faults.drops(message.order_id, message.attempt)):
            if self._record is not None:
                self._record.sent(signature, payload, message.last_valid_height)
            delay = self.fees.landing_delay(message.contended, message.compute_unit_price,
                                            self.block_height, self._rng) * self._scale
            self._in_flight[signature] = asyncio.create_task(self._land(message, delay))
        if error is SendTimeout or (faults and self.faults.times_out(message.order_id,
                                                                    message.attempt)):
            # The dangerous case: delivered, and it will land, but the client never heard back.
            raise SendTimeout(f"no answer to sendTransaction for {signature[:8]}...")
        return signature

    def simulate(self, payload: str, *, verify: bool = False,
                 detail: bool = False) -> tuple[Message, Outcome]:
        """simulateTransaction: run it against the current state without changing anything;
        `detail`: with its inner instructions and the accounts as it left them."""
        message = self.read(payload, verify=verify)
        return message, self._executor.run(message, self.now(), dry=True, detail=detail)

    @property
    def unwritable(self) -> str | None:
        """Why its record cannot be written now (a full disk), if it cannot."""
        return self._record.failing if self._record is not None else None

    def keep(self, values: dict[str, Any]) -> None:
        """Write values of the cluster's own into its record (when it keeps one)."""
        if self._record is not None:
            self._record.put_meta(values)

    def wallet_of(self, owner: str) -> Wallet | None:
        """The wallet of that address: the funded one's, else none (naming an address never
        funds it)."""
        return self.wallet if owner == self.owner else None

    def pending(self, signature: str) -> bool:
        return signature in self._in_flight

    async def status(self, signature: str) -> Landed | None:
        self._land_backlog()
        return await self.history.status(signature)

    async def transaction(self, signature: str) -> tuple[Landed, str, dict[str, Any]] | None:
        landed = await self.status(signature)
        found = None if landed is None else self.history.found(signature)
        return None if landed is None or found is None else (landed, *found)

    async def close(self) -> None:
        """Let the record write what it holds."""
        if self._record is not None:
            await self._record.close()

    async def _land(self, message: Message, delay: float) -> None:
        try:
            if delay > 0:  # with no time passing, it lands at the loop's next turn
                await self._clock.sleep(delay)
            self._settle(message)
        finally:
            del self._in_flight[message.signature]

    def _settle(self, message: Message) -> None:
        """Land the transaction (unless its blockhash expired first) and write it down."""
        landed, signature = None, message.signature
        if self.block_height <= message.last_valid_height and signature not in self.history:
            landed = self._execute(message)
            self._landed += 1
            self.slots.end_block_soon(self._block_ended)
            self.advance()
            if self.execution == "model":  # with programs, the pools read back say so
                self._on_change({frozenset((ix.mint_in, ix.mint_out))
                                 for ix in message.instructions})
        if self._record is not None:
            details = self.history.details.get(signature)
            self._record.record(landed, signature, {"chain": self._counters,
                                                    **self._snapshot(message)}, details,
                                [str(key) for key in message.account_keys])
            self.history.forget_expired(self.block_height, BLOCKHASH_VALIDITY)

    def _block_ended(self) -> None:
        self.advance()  # the market lives through the new slot
        self.keep({"chain": self._counters()})

    def _execute(self, message: Message) -> Landed:
        """Run the swaps atomically: one leg outside its bound fails the whole transaction,
        which still pays its fee."""
        self.advance()  # the swap meets the market as the other traders left it at this slot
        slot, lamports = self.block_height, self.wallet.balances.get(WSOL_MINT, 0)
        before = token_balances(message, self.wallet)
        outcome = self._executor.run(message, self.now())
        if outcome.err is not None and not outcome.charged:
            self.wallet.charge(message.fee)
        self.fees.landed(slot, message.contended, message.compute_unit_price)
        landed = Landed(message.signature, slot, outcome.amount_in, outcome.amount_out,
                        message.fee, outcome.code, outcome.message, rent_lamports=outcome.rent,
                        memo=message.memo_text)
        meta = outcome.meta(message, outcome.balances or {  # the runtime's, else the model's
            "preBalances": fee_payer_lamports(message, lamports),
            "postBalances": fee_payer_lamports(message, self.wallet.balances.get(WSOL_MINT, 0)),
            "preTokenBalances": before, "postTokenBalances": token_balances(message, self.wallet)})
        self.history.add(message, landed, meta)
        for listener in self.landing_listeners:
            listener(message, landed, meta)
        return landed

"""A simulated Solana cluster: slots, blockhash expiry, real-looking signatures, a ledger."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from engine.domain import base58
from engine.domain.errors import (
    BlockhashNotFound,
    InsufficientFunds,
    NodeUnhealthy,
    RateLimited,
    SendTimeout,
    TransientError,
)
from engine.domain.transactions import (
    Blockhash,
    Landed,
    Memo,
    SignedTransaction,
    SwapInstruction,
    TokenBalance,
)
from engine.ports import Clock
from engine.venues.faults import Faults
from engine.venues.ledger import ChainRecord
from engine.venues.message import Message
from engine.venues.wallet import Wallet

SLOT_SECONDS = 0.4
BLOCKHASH_VALIDITY = 150  # blocks, as MAX_PROCESSING_AGE
COMPUTE_UNITS_PER_SWAP = 200_000
PRIORITY_LANE = 100_000  # µlamports/CU from which a transaction is scheduled first
GENESIS_UNIX = 1_764_000_000
RANDOM_TRANSIENTS: tuple[type[TransientError], ...] = (RateLimited, NodeUnhealthy,
                                                       BlockhashNotFound, SendTimeout)


class SwapProgram(Protocol):
    """The venue side of a swap instruction, run when a transaction lands."""

    name: str
    slippage_error: str

    def preview(self, pool: str, mint_in: str, amount_in: int, now: int) -> int: ...

    def apply(self, pool: str, mint_in: str, amount_in: int, now: int) -> int: ...

    def preview_in(self, pool: str, mint_in: str, amount_out: int, now: int) -> int: ...

    def apply_exact_out(self, pool: str, mint_in: str, amount_out: int, now: int) -> int: ...


class SimChain:
    def __init__(self, programs: Mapping[str, SwapProgram], rng: random.Random, clock: Clock, *,
                 latency_scale: float, failure_rate: float, faults: Faults, wallet: Wallet,
                 on_slot: Callable[[int], set[frozenset[str]]] = lambda now: set(),
                 on_change: Callable[[set[frozenset[str]]], None] = lambda pairs: None,
                 record: ChainRecord | None = None,
                 snapshot: Callable[[list[str]], dict[str, Any]] = lambda pools: {},
                 priority_micro_lamports: int = 10_000) -> None:
        self._programs, self._rng, self._clock = programs, rng, clock
        self._scale, self._failure_rate, self.faults = latency_scale, failure_rate, faults
        self.wallet, self._on_slot, self._priority = wallet, on_slot, priority_micro_lamports
        self._on_change = on_change
        self._record, self._snapshot = record, snapshot
        self._genesis = clock.now()
        self._skipped = 0  # blocks fast-forwarded when no time passes (latency scale 0)
        self._landed = 0
        self._flowed = 0  # the last slot whose market activity has run
        # signature -> what happened, in landing order. With a durable record, only landings
        # whose blockhash could still be valid stay in memory; older ones are read from disk.
        self.ledger: dict[str, Landed] = {}
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._backlog: list[tuple[str, str]] = []  # sent before a restart, not yet landed
        self._blockhash = Blockhash("", -1)  # the latest, made once per block
        if record is not None:
            self._load(record)

    def _load(self, record: ChainRecord) -> None:
        """Continue the cluster where its record stops; what was in flight lands now."""
        meta = record.meta("chain")
        if meta is None:
            record.initialise({"chain": self._counters()})
            return
        self._genesis = datetime.fromisoformat(meta["genesis"])
        self._skipped, self._landed, self._flowed = meta["skipped"], meta["landed"], meta["flowed"]
        recent = record.landed(since_slot=self.block_height - BLOCKHASH_VALIDITY - 1)
        self.ledger = {landed.signature: landed for landed in recent}
        self._backlog = [(sig, payload) for sig, payload, _ in record.in_flight()]

    def _counters(self) -> dict[str, Any]:
        return {"genesis": self._genesis.isoformat(), "skipped": self._skipped,
                "landed": self._landed, "flowed": self._flowed}

    def _land_backlog(self) -> None:
        while self._backlog:
            signature, payload = self._backlog.pop(0)
            message = Message.decode(payload)
            self._settle(SignedTransaction(signature, message.last_valid_height, payload), message)

    @property
    def block_height(self) -> int:
        if self._scale > 0:
            elapsed = (self._clock.now() - self._genesis).total_seconds()
            return int(elapsed / (SLOT_SECONDS * self._scale)) + self._skipped
        return self._landed + self._skipped

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
            moved |= self._on_slot(GENESIS_UNIX + int(slot * SLOT_SECONDS))
        self._flowed = max(self._flowed, height)
        if moved:
            self._on_change(moved)

    async def latest_blockhash(self) -> Blockhash:
        height = self.block_height
        if self._blockhash.last_valid_height != height + BLOCKHASH_VALIDITY:  # a new block
            digest = hashlib.sha256(f"blockhash:{height}".encode()).digest()
            self._blockhash = Blockhash(base58.encode(digest), height + BLOCKHASH_VALIDITY)
        return self._blockhash

    def sign(self, instructions: Sequence[SwapInstruction], blockhash: Blockhash, memo: Memo,
             priority_fee: int | None = None) -> SignedTransaction:
        message = Message(blockhash.hash, blockhash.last_valid_height, memo,
                          priority_fee or self._priority,
                          COMPUTE_UNITS_PER_SWAP * len(instructions), tuple(instructions)).payload()
        # Like ed25519, the signature is a pure function of the message: same bytes, same tx.
        signature = base58.encode(hashlib.sha512(message).digest())
        return SignedTransaction(signature, blockhash.last_valid_height, message.decode())

    async def send(self, tx: SignedTransaction) -> None:
        await self._clock.sleep(self._rng.uniform(0.02, 0.06) * self._scale)
        self._land_backlog()
        if tx.signature in self.ledger or tx.signature in self._in_flight:
            return  # a rebroadcast: the cluster deduplicates by signature
        message = Message.decode(tx.payload)
        memo = message.memo
        scripted = self.faults.send_error(memo.order_id, memo.attempt)
        if scripted is not None:
            raise scripted(f"scripted {scripted.code} for attempt {memo.attempt}")
        unlucky = self._rng.random() < self._failure_rate
        error = self._rng.choice(RANDOM_TRANSIENTS) if unlucky else None
        if error is not None and error is not SendTimeout:
            raise error(f"simulated transient {error.code}")
        if self.block_height > tx.last_valid_height:
            raise BlockhashNotFound(f"blockhash for {tx.signature[:8]}... has expired")
        problem = self._shortfall(message)
        if problem is not None:  # preflight simulation refuses it; nothing is charged
            raise InsufficientFunds(f"transaction simulation failed: {problem}")
        if not self.faults.drops(memo.order_id, memo.attempt):
            if self._record is not None:
                self._record.sent(tx.signature, tx.payload, tx.last_valid_height)
            delay = self._landing_delay(message.compute_unit_price) * self._scale
            self._in_flight[tx.signature] = asyncio.create_task(self._land(tx, delay, message))
        if error is SendTimeout or self.faults.times_out(memo.order_id, memo.attempt):
            # The dangerous case: delivered, and it will land, but the client never heard back.
            raise SendTimeout(f"no answer to sendTransaction for {tx.signature[:8]}...")

    def _landing_delay(self, micro_lamports_per_cu: int) -> float:
        """Seconds to land: 2-3 s as in the seed; a high priority fee buys the next slot or two."""
        if micro_lamports_per_cu >= PRIORITY_LANE:
            return self._rng.uniform(SLOT_SECONDS, 2 * SLOT_SECONDS)
        return self._rng.uniform(2.0, 3.0)

    async def confirm(self, tx: SignedTransaction) -> Landed | None:
        task = self._in_flight.get(tx.signature)
        if task is not None:
            await asyncio.shield(task)
        if tx.signature not in self.ledger:
            await self._wait_past(tx.last_valid_height)
        return await self._status(tx.signature)

    async def signature_status(self, signature: str) -> Landed | None:
        self._land_backlog()
        return await self._status(signature)

    async def balances(self) -> list[TokenBalance]:
        return self.wallet.token_balances()

    async def close(self) -> None:
        """Let the record write what it holds."""
        if self._record is not None:
            await self._record.close()

    async def _status(self, signature: str) -> Landed | None:
        if self._record is None:
            return self.ledger.get(signature)
        # What the cluster tells us must survive a crash of ours, or we could act on a landing
        # that the restarted cluster never saw.
        await self._record.durable()
        return self.ledger.get(signature) or self._record.lookup(signature)

    def _forget_expired(self) -> None:
        """Drop from memory the landings whose blockhash has expired: they can never be sent
        again (the cluster refuses an expired blockhash), and the record keeps them."""
        horizon = self.block_height - BLOCKHASH_VALIDITY - 1
        while self.ledger:
            oldest = next(iter(self.ledger.values()))
            if oldest.slot >= horizon:
                return
            del self.ledger[oldest.signature]

    def landed_for(self, order_id: str) -> list[Landed]:
        """Every transaction the chain executed for an order, found by its memo."""
        prefix = f"{Memo.PREFIX}{order_id}:"
        if self._record is not None:
            return self._record.landed_for(prefix)
        return [landed for landed in self.ledger.values() if landed.memo.startswith(prefix)]

    async def _wait_past(self, height: int) -> None:
        if self._scale > 0:
            blocks = height + 1 - self.block_height
            await self._clock.sleep(max(blocks, 0) * SLOT_SECONDS * self._scale)
        self._skipped += max(height + 1 - self.block_height, 0)
        self.advance()
        if self._record is not None:
            self._record.put_meta({"chain": self._counters()})

    async def _land(self, tx: SignedTransaction, delay: float, message: Message) -> None:
        try:
            await self._clock.sleep(delay)
            self._settle(tx, message)
        finally:
            del self._in_flight[tx.signature]

    def _settle(self, tx: SignedTransaction, message: Message) -> None:
        """Land the transaction (unless its blockhash expired first) and write it down."""
        landed = None
        if self.block_height <= tx.last_valid_height and tx.signature not in self.ledger:
            landed = self._execute(tx.signature, message)
            self.ledger[tx.signature] = landed
            self._landed += 1
            self.advance()
            self._on_change({frozenset((ix.mint_in, ix.mint_out)) for ix in message.instructions})
        if self._record is not None:
            pools = [ix.pool for ix in message.instructions]
            self._record.record(landed, tx.signature,
                                {"chain": self._counters(), **self._snapshot(pools)})
            self._forget_expired()

    def _shortfall(self, message: Message) -> str | None:
        return self.wallet.shortfall(message.mint_in, message.amount_in, message.mint_out,
                                     message.fee)

    def _hop_inputs(self, message: Message, now: int) -> list[int]:
        """What each instruction swaps: the first hop its own amounts; a later hop what the
        hop before it actually produced, in the planned shares (the last leg takes the rest),
        as a route's second swap spends the intermediate account's whole balance."""
        inputs: list[int] = []
        carried = 0
        for n, hop in enumerate(message.hops):
            if n == 0:
                amounts = [ix.amount_in for ix in hop]
            else:
                planned = max(sum(ix.amount_in for ix in hop), 1)
                amounts = [carried * ix.amount_in // planned for ix in hop[:-1]]
                amounts.append(carried - sum(amounts))
            carried = sum(self._programs[ix.venue].preview(ix.pool, ix.mint_in, amount, now)
                          for ix, amount in zip(hop, amounts, strict=True))
            inputs += amounts
        return inputs

    def _execute(self, signature: str, message: Message) -> Landed:
        """Run the swaps atomically: one leg under its minimum fails the whole transaction."""
        self.advance()  # the swap meets the market as the other traders left it at this slot
        now, slot, memo, fee = self.now(), self.block_height, message.memo, message.fee
        problem = self._shortfall(message)
        if problem is not None:
            self.wallet.charge(fee)  # a failed transaction still pays its fee
            return Landed(signature, slot, 0, 0, fee, "INSUFFICIENT_FUNDS", problem,
                          memo=memo.text)
        if message.exact_out:
            return self._execute_exact_out(signature, message, now, slot, fee)
        inputs = self._hop_inputs(message, now)
        last = message.hops[-1]
        for ix, amount in zip(message.instructions, inputs, strict=True):
            program = self._programs[ix.venue]
            out = program.preview(ix.pool, ix.mint_in, amount, now)
            if ix in last and self.faults.slips(memo.order_id, memo.attempt):
                out = ix.min_out - 1
            if out < ix.min_out:
                self.wallet.charge(fee)
                return Landed(signature, slot, 0, 0, fee, "SLIPPAGE_EXCEEDED",
                              f"{program.name}: {program.slippage_error}: out {out} < minimum "
                              f"{ix.min_out}", memo=memo.text)
        outs = [self._programs[ix.venue].apply(ix.pool, ix.mint_in, amount, now)
                for ix, amount in zip(message.instructions, inputs, strict=True)]
        amount_out = sum(out for ix, out in zip(message.instructions, outs, strict=True)
                         if ix in last)
        rent = self.wallet.settle(message.mint_in, message.amount_in, message.mint_out,
                                  amount_out, fee)
        return Landed(signature, slot, message.amount_in, amount_out, fee, rent_lamports=rent,
                      memo=memo.text)

    def _execute_exact_out(self, signature: str, message: Message, now: int, slot: int,
                           fee: int) -> Landed:
        """One exact-out swap: the program takes what the output costs, up to its maximum."""
        ix, memo = message.instructions[0], message.memo
        program = self._programs[ix.venue]
        try:
            cost = program.preview_in(ix.pool, ix.mint_in, ix.min_out, now)
        except InsufficientFunds as error:
            self.wallet.charge(fee)
            return Landed(signature, slot, 0, 0, fee, "INSUFFICIENT_FUNDS", str(error),
                          memo=memo.text)
        if self.faults.slips(memo.order_id, memo.attempt):
            cost = ix.amount_in + 1
        if cost > ix.amount_in:
            self.wallet.charge(fee)
            return Landed(signature, slot, 0, 0, fee, "SLIPPAGE_EXCEEDED",
                          f"{program.name}: {program.slippage_error}: in {cost} > maximum "
                          f"{ix.amount_in}", memo=memo.text)
        paid = program.apply_exact_out(ix.pool, ix.mint_in, ix.min_out, now)
        rent = self.wallet.settle(ix.mint_in, paid, ix.mint_out, ix.min_out, fee)
        return Landed(signature, slot, paid, ix.min_out, fee, rent_lamports=rent, memo=memo.text)

"""A simulated Solana cluster: slots, blockhash expiry, real-looking signatures, a ledger."""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
from collections.abc import Mapping, Sequence
from typing import Protocol

import orjson

from engine.domain import base58
from engine.domain.errors import (
    BlockhashNotFound,
    NodeUnhealthy,
    RateLimited,
    SendTimeout,
    TransientError,
)
from engine.domain.transactions import Blockhash, Landed, SignedTransaction, SwapInstruction
from engine.ports import Clock
from engine.venues.faults import Faults

SLOT_SECONDS = 0.4
BLOCKHASH_VALIDITY = 150  # blocks, as MAX_PROCESSING_AGE
BASE_FEE_LAMPORTS = 5_000  # per signature
COMPUTE_UNIT_LIMIT = 200_000
RANDOM_TRANSIENTS: tuple[type[TransientError], ...] = (RateLimited, NodeUnhealthy,
                                                       BlockhashNotFound)


class Fillable(Protocol):
    """The simulated venue side of a swap, executed when a transaction lands."""

    name: str
    slippage_error: str

    def fill(self, pool: str, mint_in: str, mint_out: str, amount_in: int,
             quote_ref: str) -> int: ...


class SimChain:
    def __init__(self, venues: Mapping[str, Fillable], rng: random.Random, clock: Clock, *,
                 latency_scale: float, failure_rate: float, faults: Faults,
                 priority_micro_lamports: int = 10_000) -> None:
        self._venues, self._rng, self._clock = venues, rng, clock
        self._scale, self._failure_rate, self.faults = latency_scale, failure_rate, faults
        self._priority = priority_micro_lamports
        self._epoch = clock.monotonic()
        self._skipped = 0  # blocks fast-forwarded when no time passes (latency scale 0)
        self._landed = 0
        self.ledger: dict[str, Landed] = {}  # signature -> what happened, the chain's record
        self._memos: dict[str, str] = {}
        self._in_flight: dict[str, asyncio.Task[None]] = {}

    @property
    def block_height(self) -> int:
        if self._scale > 0:
            elapsed = self._clock.monotonic() - self._epoch
            return int(elapsed / (SLOT_SECONDS * self._scale)) + self._skipped
        return self._landed + self._skipped

    async def latest_blockhash(self) -> Blockhash:
        height = self.block_height
        digest = hashlib.sha256(f"blockhash:{height}".encode()).digest()
        return Blockhash(base58.encode(digest), height + BLOCKHASH_VALIDITY)

    def sign(self, instructions: Sequence[SwapInstruction], blockhash: Blockhash,
             memo: str) -> SignedTransaction:
        message = orjson.dumps({
            "recentBlockhash": blockhash.hash, "lastValidBlockHeight": blockhash.last_valid_height,
            "memo": memo, "computeUnitPrice": self._priority,
            "instructions": [_instruction(i) for i in instructions],
        })
        # Like ed25519, the signature is a pure function of the message: same bytes, same tx.
        signature = base58.encode(hashlib.sha512(message).digest())
        return SignedTransaction(signature, blockhash.last_valid_height, message.decode())

    async def send(self, tx: SignedTransaction) -> None:
        await self._clock.sleep(self._rng.uniform(0.02, 0.06) * self._scale)
        if tx.signature in self.ledger or tx.signature in self._in_flight:
            return  # a rebroadcast: the cluster deduplicates by signature
        memo = orjson.loads(tx.payload)["memo"]
        self._memos[tx.signature] = memo
        _, order_id, attempt = memo.split(":")
        scripted = self.faults.send_error(order_id, int(attempt))
        if scripted is not None:
            raise scripted(f"scripted {scripted.code} for attempt {attempt}")
        if self._rng.random() < self._failure_rate:
            error = self._rng.choice(RANDOM_TRANSIENTS)
            raise error(f"simulated transient {error.code}")
        if self.block_height > tx.last_valid_height:
            raise BlockhashNotFound(f"blockhash for {tx.signature[:8]}... has expired")
        delay = self._rng.uniform(2.0, 3.0) * self._scale
        self._in_flight[tx.signature] = asyncio.create_task(self._land(tx, delay, order_id,
                                                                       int(attempt)))
        if self.faults.times_out(order_id, int(attempt)):
            raise SendTimeout(f"no answer to sendTransaction for {tx.signature[:8]}...")

    async def confirm(self, tx: SignedTransaction) -> Landed | None:
        task = self._in_flight.get(tx.signature)
        if task is not None:
            await asyncio.shield(task)
        landed = self.ledger.get(tx.signature)
        if landed is None:
            await self._wait_past(tx.last_valid_height)
        return self.ledger.get(tx.signature)

    async def signature_status(self, signature: str) -> Landed | None:
        return self.ledger.get(signature)

    def landed_for(self, order_id: str) -> list[Landed]:
        """Every transaction the chain executed for an order, read from the memos."""
        return [landed for sig, landed in self.ledger.items()
                if self._memos.get(sig, "").startswith(f"order:{order_id}:")]

    async def _wait_past(self, height: int) -> None:
        if self._scale > 0:
            blocks = height + 1 - self.block_height
            await self._clock.sleep(max(blocks, 0) * SLOT_SECONDS * self._scale)
        self._skipped += max(height + 1 - self.block_height, 0)

    async def _land(self, tx: SignedTransaction, delay: float, order_id: str, attempt: int) -> None:
        try:
            await self._clock.sleep(delay)
            if self.block_height > tx.last_valid_height:
                return  # dropped: never lands
            self.ledger[tx.signature] = self._execute(tx, order_id, attempt)
            self._landed += 1
        finally:
            del self._in_flight[tx.signature]

    def _execute(self, tx: SignedTransaction, order_id: str, attempt: int) -> Landed:
        """Run the swaps atomically: one leg under its minimum fails the whole transaction."""
        message = orjson.loads(tx.payload)
        fee = BASE_FEE_LAMPORTS + math.ceil(self._priority * COMPUTE_UNIT_LIMIT / 1_000_000)
        amount_in = amount_out = 0
        slot = self.block_height
        for ix in message["instructions"]:
            venue = self._venues[ix["venue"]]
            out = venue.fill(ix["pool"], ix["mintIn"], ix["mintOut"], ix["amountIn"], ix["quoteRef"])
            if self.faults.slips(order_id, attempt):
                out = ix["minOut"] - 1
            if out < ix["minOut"]:
                return Landed(tx.signature, slot, 0, 0, fee, "SLIPPAGE_EXCEEDED",
                              f"{venue.name}: {venue.slippage_error}: out {out} < "
                              f"minimum {ix['minOut']}")
            amount_in += ix["amountIn"]
            amount_out += out
        return Landed(tx.signature, slot, amount_in, amount_out, fee)


def _instruction(ix: SwapInstruction) -> dict[str, object]:
    return {"venue": ix.venue, "pool": ix.pool, "mintIn": ix.mint_in, "mintOut": ix.mint_out,
            "amountIn": ix.amount_in, "minOut": ix.min_out, "quoteRef": ix.quote_ref}

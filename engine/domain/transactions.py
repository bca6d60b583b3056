"""Solana transactions as the engine sees them: signed, sent, and what the chain says became of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class SwapInstruction:
    """One swap leg with its on-chain slippage bound, which the venue program enforces.

    Exact in: swap `amount_in`, fail under `min_out`. Exact out (`exact_out`): receive exactly
    `min_out`, fail if that costs more than `amount_in` (the instruction's maximum in)."""

    venue: str
    pool: str
    mint_in: str
    mint_out: str
    amount_in: int  # a later hop's is its planned share: it swaps that share of what came in
    min_out: int  # the final hop: the slippage floor; a first hop: what the second spends
    hop: int = 0  # 0, or 1 for the second hop of a route through SOL or USDC
    exact_out: bool = False


@dataclass(frozen=True, slots=True)
class Blockhash:
    hash: str
    last_valid_height: int


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """Signed bytes can be rebroadcast any number of times; they land at most once."""

    signature: str
    last_valid_height: int
    payload: str  # the serialised transaction, opaque to the engine


@dataclass(frozen=True, slots=True)
class Memo:
    """Which order and attempt a transaction is for; on chain, the Memo instruction's text."""

    order_id: str
    attempt: int

    PREFIX: ClassVar[str] = "order:"

    @property
    def text(self) -> str:
        return f"{self.PREFIX}{self.order_id}:{self.attempt}"

    @classmethod
    def parse(cls, text: str) -> Memo | None:
        """The memo a transaction carries, or None when it is not one of ours."""
        if not text.startswith(cls.PREFIX):
            return None
        order_id, _, attempt = text[len(cls.PREFIX):].rpartition(":")
        ok = order_id and attempt.isascii() and attempt.isdigit()
        return cls(order_id, int(attempt)) if ok else None


@dataclass(frozen=True, slots=True)
class Landed:
    """A transaction the chain has executed (err set when its program failed)."""

    signature: str
    slot: int
    amount_in: int
    amount_out: int
    fee_lamports: int
    err: str | None = None
    err_message: str = ""
    commitment: str = "confirmed"
    rent_lamports: int = 0  # token accounts this transaction had to open (not refunded)
    memo: str = ""
    failed_hop: int | None = None  # the hop whose swap failed (0: a route's first), if known



@dataclass(frozen=True, slots=True)
class TokenBalance:
    """One balance of the wallet: lamports for native SOL, atoms for a token, and the
    decimals its mint declares (as the chain reports them; None where it did not)."""

    mint: str
    atoms: int
    has_account: bool
    decimals: int | None = None

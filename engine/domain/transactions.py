"""Solana transactions as the engine sees them: signed, sent, and what the chain says became of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SwapInstruction:
    """One swap leg with its on-chain slippage floor; the venue program enforces `min_out`."""

    venue: str
    pool: str
    mint_in: str
    mint_out: str
    amount_in: int
    min_out: int


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

    def to_dict(self) -> dict[str, Any]:
        return {"signature": self.signature, "lastValidBlockHeight": self.last_valid_height,
                "payload": self.payload}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SignedTransaction:
        return cls(data["signature"], int(data["lastValidBlockHeight"]), data["payload"])


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



@dataclass(frozen=True, slots=True)
class TokenBalance:
    """One balance of the wallet: lamports for native SOL, atoms for a token."""

    mint: str
    atoms: int
    has_account: bool

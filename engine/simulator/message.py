"""A transaction as the simulated cluster runs it: decoded once from its signed bytes."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

from solders.pubkey import Pubkey

from engine.domain.transactions import Memo, SwapInstruction
from engine.solana.programs import PoolInfo
from engine.solana.transaction import (
    MAX_TRANSACTION_BYTES,
    Decoded,
    Rejected,
    TableInstruction,
    Tables,
    decode,
)

BASE_FEE_LAMPORTS = 5_000  # per signature
# Compute units each step costs on the simulated validator (of the order real ones report).
UNITS = {"budget": 150, "housekeeping": 6_000, "memo": 2_000, "amm_v4": 35_000, "cpmm": 45_000,
         "dlmm": 65_000, "bin": 8_000}


@dataclass(frozen=True, slots=True)
class Message:
    """What the cluster needs of a transaction: its signature and payer, the blockhash and its
    expiry, the compute budget, the memo, and each swap in the engine's terms (read once)."""

    signature: str
    payload: str  # base64, as sent: what the ledger keeps and getTransaction returns
    fee_payer: str
    recent_blockhash: str
    last_valid_height: int
    memo: Memo | None
    memo_text: str
    compute_unit_price: int
    compute_unit_limit: int
    signatures: int
    instructions: tuple[SwapInstruction, ...]
    units: int  # what running it consumes
    kinds: tuple[str, ...]  # each swap's pool program
    swap_indexes: tuple[int, ...]
    account_keys: tuple[Pubkey, ...]  # its own, then those its lookups loaded
    writable: tuple[Pubkey, ...]  # those it may write: no other account can change
    loaded: tuple[tuple[Pubkey, ...], tuple[Pubkey, ...]]  # looked up: writable, read-only
    table_instructions: tuple[TableInstruction, ...]
    contended: tuple[str, ...]  # the pool accounts: what other traders bid for too
    hops: tuple[tuple[SwapInstruction, ...], ...]
    exact_out: bool
    amount_in: int  # what the wallet pays in at most: the first hop's input
    mint_in: str
    mint_out: str

    @classmethod
    def read(cls, payload: str, pools: Callable[[Pubkey], PoolInfo | None],
             expiry: Callable[[str], int | None], *, verify: bool = True,
             any_program: bool = False, tables: Tables = lambda address: None) -> Message:
        """Parse, verify and decode; raises `Rejected` (bad bytes or signatures).
        `any_program`: the programs' runtime executes it, so it need not be a swap.
        `tables`: the lookup tables' addresses usable now."""
        try:
            raw = base64.b64decode(payload, validate=True)
        except ValueError:
            raise Rejected("SanitizeFailure", "the transaction is not base64") from None
        if len(raw) > MAX_TRANSACTION_BYTES:  # a packet's payload, as every node enforces
            raise Rejected("TooLarge", f"decoded solana_transaction::versioned::"
                                       f"VersionedTransaction too large: {len(raw)} bytes "
                                       f"(max: {MAX_TRANSACTION_BYTES} bytes)")
        decoded = decode(raw, pools, verify=verify, any_program=any_program, tables=tables)
        swaps = decoded.swaps
        if not any_program and not swaps and not decoded.table_instructions:
            raise Rejected("UnsupportedTransaction", "without --programs this simulated cluster "
                                                     "runs swaps and lookup tables only")
        if not any_program and decoded.table_instructions and (swaps or decoded.housekeeping):
            raise Rejected("UnsupportedTransaction", "without --programs this simulated cluster "
                                                     "runs lookup-table instructions in "
                                                     "transactions of their own")
        height = expiry(decoded.blockhash)
        hops: list[list[SwapInstruction]] = []
        for ix in swaps:
            if len(hops) <= ix.hop:
                hops.append([])
            hops[ix.hop].append(ix)
        return cls(decoded.signature, payload, str(decoded.fee_payer), decoded.blockhash,
                   -1 if height is None else height, Memo.parse(decoded.memo), decoded.memo,
                   decoded.unit_price, decoded.unit_limit, decoded.signatures, swaps,
                   _units(decoded), decoded.kinds, decoded.swap_indexes, decoded.account_keys,
                   decoded.writable, decoded.loaded, decoded.table_instructions,
                   tuple(dict.fromkeys(str(k) for k in decoded.pools)),
                   tuple(tuple(hop) for hop in hops), any(ix.exact_out for ix in swaps),
                   sum(ix.amount_in for ix in hops[0]) if hops else 0,
                   swaps[0].mint_in if swaps else "", swaps[-1].mint_out if swaps else "")

    @property
    def order_id(self) -> str:
        return self.memo.order_id if self.memo else ""

    @property
    def attempt(self) -> int:
        return self.memo.attempt if self.memo else 0

    @property
    def fee(self) -> int:
        priority = -(-self.compute_unit_price * self.compute_unit_limit // 10**6)
        return BASE_FEE_LAMPORTS * self.signatures + priority


def _units(decoded: Decoded) -> int:
    if not decoded.swaps:  # the lookup-table program: a few thousand units an instruction
        return 2 * UNITS["budget"] + UNITS["housekeeping"] * len(decoded.table_instructions)
    swaps = sum(UNITS[kind] + (2 * UNITS["bin"] if kind == "dlmm" else 0)
                for kind in decoded.kinds)
    return 2 * UNITS["budget"] + UNITS["memo"] + 4 * UNITS["housekeeping"] + swaps

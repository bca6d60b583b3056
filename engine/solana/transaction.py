"""Building and signing a swap transaction (v0 message, ed25519), and reading one back."""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from solders.address_lookup_table_account import AddressLookupTableAccount
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from engine.domain.transactions import SwapInstruction
from engine.solana import instructions as ix
from engine.solana import lookup_tables
from engine.solana.lookup_tables import Lookup, LookupFailed
from engine.solana.programs import (
    AMM_V4,
    ASSOCIATED_TOKEN,
    COMPUTE_BUDGET,
    CPMM,
    CPMM_SWAP_BASE_INPUT,
    CPMM_SWAP_BASE_OUTPUT,
    DLMM,
    DLMM_SWAP,
    DLMM_SWAP_EXACT_OUT,
    MEMO,
    SWAP_BASE_IN,
    SWAP_BASE_IN_V2,
    SWAP_BASE_OUT,
    SWAP_BASE_OUT_V2,
    SYSTEM,
    TOKEN,
    WSOL,
    PoolInfo,
    associated_token_address,
    bin_array_index,
)

MAX_TRANSACTION_BYTES = 1232  # a packet's payload: larger ones need address lookup tables
BIN_ARRAYS_PER_SWAP = 3  # the active bin's array and the next two the swap may reach
POOL_ACCOUNT = {AMM_V4: 1, CPMM: 3, DLMM: 0}  # where each swap names its pool
AMM_V4_SWAPS = frozenset({SWAP_BASE_IN, SWAP_BASE_OUT, SWAP_BASE_IN_V2, SWAP_BASE_OUT_V2})
SWAP_DISCRIMINATORS = frozenset({CPMM_SWAP_BASE_INPUT, CPMM_SWAP_BASE_OUTPUT, DLMM_SWAP,
                                 DLMM_SWAP_EXACT_OUT})
ROLES = {AMM_V4: "amm_v4", CPMM: "cpmm", DLMM: "dlmm", COMPUTE_BUDGET: "budget", MEMO: "memo",
         SYSTEM: "housekeeping", TOKEN: "housekeeping", ASSOCIATED_TOKEN: "housekeeping",
         lookup_tables.PROGRAM: "lookup_table"}
Tables = Callable[[Pubkey], tuple[Pubkey, ...] | None]  # a table's usable addresses, now


def swap_instructions(owner: Pubkey, swaps: Sequence[SwapInstruction],
                      pools: Callable[[str], PoolInfo]) -> list[Instruction]:
    """Everything between the compute budget and the memo: wrap SOL when it is sold, open the
    output token accounts (idempotently), one swap per leg, and unwrap what wSOL is left."""
    mint_in = Pubkey.from_string(swaps[0].mint_in)
    first = [s for s in swaps if s.hop == 0]
    outputs = list(dict.fromkeys(Pubkey.from_string(s.mint_out) for s in swaps))
    wsol = associated_token_address(owner, WSOL)
    out: list[Instruction] = []
    if mint_in == WSOL:
        out += [ix.create_ata_idempotent(owner, owner, WSOL),
                transfer(TransferParams(from_pubkey=owner, to_pubkey=wsol,
                                        lamports=sum(s.amount_in for s in first))),
                ix.sync_native(wsol)]
    out += [ix.create_ata_idempotent(owner, owner, m) for m in outputs
            if not (m == WSOL and mint_in == WSOL)]
    for s in swaps:
        pool = pools(s.pool)
        keys = pool.keys
        a_in = Pubkey.from_string(s.mint_in)
        arrays: tuple[int, ...] = ()
        if pool.kind == "dlmm" and pool.active_bin is not None:
            start, step = bin_array_index(pool.active_bin), -1 if a_in == keys.mint_a else 1
            arrays = tuple(start + step * n for n in range(BIN_ARRAYS_PER_SWAP))
        amount, threshold = (s.min_out, s.amount_in) if s.exact_out else (s.amount_in, s.min_out)
        out.append(ix.swap(ix.Swap(keys, a_in, Pubkey.from_string(s.mint_out), amount,
                                   threshold, s.exact_out, arrays), owner))
    if mint_in == WSOL or WSOL in outputs:
        out.append(ix.close_account(wsol, owner, owner))
    return out


def sign(owner: Pubkey, payer: Keypair | None, body: Sequence[Instruction], blockhash: str,
         memo: str, unit_limit: int, unit_price: int,
         tables: Sequence[AddressLookupTableAccount] = ()) -> VersionedTransaction:
    """The transaction signed by `payer` (`owner`'s keypair); without it, unsigned: a draft
    to simulate without sigVerify (signing costs as much as everything else here together).
    An account found in one of `tables` is looked up there (one byte instead of 32)."""
    instructions = [set_compute_unit_limit(unit_limit), set_compute_unit_price(unit_price),
                    *body, ix.memo(memo)]
    message = MessageV0.try_compile(owner, instructions, list(tables),
                                    Hash.from_string(blockhash))
    if payer is None:
        return VersionedTransaction.populate(message, [Signature.default()])
    # ed25519 over the versioned message bytes, as the constructor would do (in half the time).
    signature = payer.sign_message(to_bytes_versioned(message))
    return VersionedTransaction.populate(message, [signature])


def wire(tx: VersionedTransaction) -> str:
    """The signed bytes as sendTransaction takes them (base64)."""
    return base64.b64encode(bytes(tx)).decode()


# -- reading -------------------------------------------------------------------------------
class Rejected(Exception):
    """A transaction the cluster refuses before running it: `reason` in Solana's words."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason, self.message = reason, message


@dataclass(frozen=True, slots=True)
class Decoded:
    """A transaction as the cluster reads it: who pays, which blockhash, the compute budget,
    the memo, and each swap in the engine's terms (venue, pool id, mints, amounts, hop)."""

    signature: str
    fee_payer: Pubkey
    blockhash: str
    signatures: int
    unit_limit: int
    unit_price: int
    memo: str
    swaps: tuple[SwapInstruction, ...]
    kinds: tuple[str, ...]  # each swap's pool program: amm_v4, cpmm or dlmm
    swap_indexes: tuple[int, ...]  # each swap's place among the instructions
    pools: tuple[Pubkey, ...]  # each swap's pool account
    account_keys: tuple[Pubkey, ...]  # the message's own, then those its lookups loaded
    loaded: tuple[tuple[Pubkey, ...], tuple[Pubkey, ...]]  # looked up: writable, read-only
    writable: tuple[Pubkey, ...]  # those it may write (as its header and lookups say)
    table_instructions: tuple[TableInstruction, ...]  # the Address Lookup Table program's
    housekeeping: int  # instructions of System, SPL Token, ATA (or, for a runtime, any program)


@dataclass(frozen=True, slots=True)
class TableInstruction:
    """An instruction to the Address Lookup Table program: where it is, its data, accounts,
    and which of those accounts signed."""

    index: int
    data: bytes
    accounts: tuple[Pubkey, ...]
    signed: tuple[bool, ...]


def decode(raw: bytes, pools: Callable[[Pubkey], PoolInfo | None], *,
           verify: bool = True, any_program: bool = False,
           tables: Tables = lambda address: None) -> Decoded:
    """Parse (and, unless told not to, verify) signed bytes; raise Rejected as a validator
    would. A simulation without sigVerify, or the signer reading its own, skips the check.
    `any_program`: a runtime executes it, so any message version and any program is taken,
    and a swap not in the engine's shape is left to its program (not read as a swap).
    `tables`: the lookup tables' usable addresses, which the message's lookups load."""
    try:
        tx = VersionedTransaction.from_bytes(raw)
    except ValueError as error:
        raise Rejected("SanitizeFailure", f"failed to deserialize transaction: {error}") from None
    if verify and not all(tx.verify_with_results()):
        raise Rejected("SignatureFailure", "Transaction signature verification failure")
    message = tx.message
    if not isinstance(message, MessageV0) and not any_program:
        raise Rejected("UnsupportedVersion", "this cluster takes v0 messages")
    keys = list(message.account_keys)
    signers = message.header.num_required_signatures
    loaded = _loaded(message, tables) if isinstance(message, MessageV0) else ((), ())
    keys += [*loaded[0], *loaded[1]]
    limit, price, memo = 200_000, 0, ""
    table_instructions: list[TableInstruction] = []
    housekeeping = 0  # System, SPL Token and ATA instructions (and any other program's)
    swaps: list[SwapInstruction] = []
    kinds: list[str] = []
    indexes: list[int] = []
    addresses: list[Pubkey] = []
    for n, compiled in enumerate(message.instructions):
        program = keys[compiled.program_id_index]
        role = ROLES.get(program)  # one hash lookup: most instructions are housekeeping
        if role is None and not any_program:
            raise Rejected("InvalidProgramForExecution", f"program {program} is not deployed")
        if role is None or role == "housekeeping":
            housekeeping += 1
            continue
        data = bytes(compiled.data)
        if role == "lookup_table":
            at = bytes(compiled.accounts)
            table_instructions.append(TableInstruction(n, data, tuple(keys[i] for i in at),
                                                       tuple(i < signers for i in at)))
            continue
        if role == "budget":
            if data[:1] == b"\x02":
                limit = struct.unpack_from("<I", data, 1)[0]
            elif data[:1] == b"\x03":
                price = struct.unpack_from("<Q", data, 1)[0]
        elif role == "memo":
            memo = data.decode(errors="replace")
        else:
            accounts = [keys[i] for i in bytes(compiled.accounts)]
            try:
                swaps.append(_swap(program, accounts, data, keys[0], pools, swaps))
            except Rejected:
                if not any_program:
                    raise
                continue  # not the engine's kind of swap: its program alone judges it
            kinds.append(role)
            indexes.append(n)
            addresses.append(accounts[POOL_ACCOUNT[program]])
    header, static = message.header, len(message.account_keys)
    writable = (*keys[:signers - header.num_readonly_signed_accounts],
                *keys[signers:static - header.num_readonly_unsigned_accounts], *loaded[0])
    return Decoded(str(tx.signatures[0]), keys[0], str(message.recent_blockhash), signers,
                   limit, price, memo, tuple(swaps), tuple(kinds), tuple(indexes),
                   tuple(addresses), tuple(keys), loaded, writable, tuple(table_instructions),
                   housekeeping)


def _loaded(message: MessageV0, tables: Tables) -> tuple[tuple[Pubkey, ...], tuple[Pubkey, ...]]:
    """What a v0 message's lookups load (raises Rejected as a node does when it cannot)."""
    if not message.address_table_lookups:
        return (), ()
    lookups = [Lookup(found.account_key, tuple(bytes(found.writable_indexes)),
                      tuple(bytes(found.readonly_indexes)))
               for found in message.address_table_lookups]
    usable = {lookup.table: addresses for lookup in lookups
              if (addresses := tables(lookup.table)) is not None}
    try:
        return lookup_tables.resolve(lookups, usable)
    except LookupFailed as error:
        raise Rejected(error.reason, str(error)) from None


def _swap(program: Pubkey, accounts: list[Pubkey], data: bytes, owner: Pubkey,
          pools: Callable[[Pubkey], PoolInfo | None],
          earlier: list[SwapInstruction]) -> SwapInstruction:
    pool_at = POOL_ACCOUNT[program]
    if program == AMM_V4:
        if not data or data[0] not in AMM_V4_SWAPS:
            raise Rejected("InvalidInstructionData", f"{program}: instruction {data[:1].hex()} "
                                                     "is not a swap")
        exact_out = data[0] in (SWAP_BASE_OUT, SWAP_BASE_OUT_V2)
        source_at = 14 if data[0] in (SWAP_BASE_IN, SWAP_BASE_OUT) else 5
    else:
        if data[:8] not in SWAP_DISCRIMINATORS:  # Anchor: InstructionFallbackNotFound
            raise Rejected("InstructionError", f"{program}: custom program error: 0x65")
        exact_out = data[:8] in (CPMM_SWAP_BASE_OUTPUT, DLMM_SWAP_EXACT_OUT)
        source_at = 4
    if len(data) < (17 if program == AMM_V4 else 24) or len(accounts) <= source_at:
        raise Rejected("InvalidInstructionData", f"{program}: a swap's data or accounts are short")
    first, second = struct.unpack_from("<QQ", data, 1 if program == AMM_V4 else 8)
    pool = pools(accounts[pool_at])
    if pool is None:
        raise Rejected("InvalidAccountData", f"{program}: no such pool account")
    source = accounts[source_at]
    keys = pool.keys
    if source == associated_token_address(owner, keys.mint_a):
        mint_in, mint_out = pool.mint_a, pool.mint_b
    elif source == associated_token_address(owner, keys.mint_b):
        mint_in, mint_out = pool.mint_b, pool.mint_a
    else:
        raise Rejected("InvalidAccountData", f"{pool.pool_id}: the source is not the signer's "
                                             "token account for either mint")
    hop = 0 if not earlier or earlier[0].mint_in == mint_in else 1
    # exact in: (amount_in, minimum_out); exact out: (maximum_in, amount_out)
    return SwapInstruction(pool.venue, pool.pool_id, mint_in, mint_out, first, second, hop,
                           exact_out)

"""The cluster's transactions executed by the programs' own bytecode (`--programs DIR`).

Every transaction that lands, the engine's and other traders', runs in `solders.litesvm` with
Raydium's and Meteora's compiled programs and the built-in System, ComputeBudget, SPL Token,
Associated Token Account and Memo programs. The runtime holds the accounts; the simulated
market's pool objects and the wallet are read back from them after each transaction (so what
the cluster serves and records is what the programs wrote), and written into them where the
simulation itself changes a pool (a launch, a scripted price move, a restart from the record).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata

from engine.domain.tokens import LAUNCH_DECIMALS, WSOL_MINT
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool
from engine.simulator.blockhashes import blockhash_at
from engine.simulator.ledger import Later
from engine.simulator.parsed_token import ui_amount
from engine.simulator.runtime_report import engine_code, inner_instructions, node_error
from engine.simulator.runtime_traders import RuntimeTraders
from engine.simulator.wallet import Wallet
from engine.solana import lookup_tables
from engine.solana.accounts import TOKEN_ACCOUNT
from engine.solana.lookup_tables import BadTable, LookupTable
from engine.solana.pool_accounts import Account as Stored
from engine.solana.programs import (
    AMM_V4,
    CPMM,
    DLMM,
    TOKEN,
    PoolInfo,
    associated_token_address,
)
from engine.svm.pools import place, read
from engine.svm.runtime import TOKEN_ACCOUNT_SIZE, Runtime

Pool = CpPool | DlmmPool
# Programs and sysvars a transaction names: never the record's to keep.
FIXED = frozenset({SYSTEM, TOKEN, AMM_V4, CPMM, DLMM, *(Pubkey.from_string(p) for p in (
    "ComputeBudget111111111111111111111111111111", "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",
    "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL", "SysvarRent111111111111111111111111111111111",
    "SysvarC1ock11111111111111111111111111111111"))})


@dataclass(frozen=True, slots=True)
class Execution:
    """What the runtime did with one transaction."""

    err: object  # None, or the error as a node reports it in `meta.err`
    code: str | None  # the engine's name for it: SLIPPAGE_EXCEEDED, INSUFFICIENT_FUNDS, ...
    message: str
    logs: tuple[str, ...]
    units: int
    inner: list[dict[str, object]]
    # A simulation's accounts after it ran (the transaction's own; none when it failed).
    post: tuple[tuple[Pubkey, Stored], ...] = ()


class Bytecode:
    def __init__(self, programs: Path) -> None:
        self.runtime = Runtime(programs, wanted=(AMM_V4, CPMM, DLMM))
        # The cluster verifies signatures and blockhashes itself (its own blockhashes, its own
        # expiry) and deduplicates by signature: the runtime only executes.
        self.runtime.svm.with_sigverify(False).with_blockhash_check(False)
        self.runtime.svm.with_transaction_history(0)
        self._traders = RuntimeTraders(self.runtime)
        self._placed: dict[str, set[Pubkey]] = {}  # pool id -> the accounts written for it
        self._pool_keys: set[Pubkey] = set()  # every pool's accounts, closed ones too
        self._owners: dict[Pubkey, str] = {}  # a pool's open account -> its pool id
        self._keeps: set[Pubkey] = set()  # accounts the record holds beyond the wallet
        self._unkept: set[Pubkey] = set()  # pool accounts other traders changed since
        self.decimals: dict[str, int] = {}

    @property
    def rent_of_token_account(self) -> int:
        return self.runtime.rent(TOKEN_ACCOUNT_SIZE)

    # -- time --------------------------------------------------------------------------------
    def at(self, slot: int, unix_time: int) -> None:
        self.runtime.set_time(unix_time, slot)

    # -- pools -------------------------------------------------------------------------------
    def place(self, info: PoolInfo, pool: Pool, opened: int) -> list[Pubkey]:
        """Write a pool's accounts as its state is now (a new, moved or restored pool); an
        account written before that the pool no longer has (a bin array a scripted move left)
        is closed, so no program finds liquidity the pool does not hold. Every account
        written or closed."""
        written = place(self.runtime, info, pool, self.decimals, opened)
        closed = self._placed.get(info.pool_id, set()) - written
        for stale in closed:
            self.runtime.svm.set_account(stale, _system(0))
            self._owners.pop(stale, None)
        self._owners |= dict.fromkeys(written, info.pool_id)
        self._placed[info.pool_id] = written
        self._pool_keys |= written  # a closed one stays a pool's: the record keeps it closed
        return [*written, *closed]

    def read_back(self, info: PoolInfo, pool: Pool) -> None:
        """The pool object made equal to its accounts, as the program left them."""
        pool.take(read(self.runtime, info))  # type: ignore[arg-type]

    # -- what a node serves: the runtime's accounts, as they are ------------------------------
    def account(self, address: Pubkey) -> Stored | None:
        found = self.runtime.svm.get_account(address)
        if found is None or (found.lamports == 0 and not found.data):
            return None  # never made, or closed
        return Stored(found.owner, bytes(found.data), found.lamports, found.executable)

    def pool_accounts(self, pool_id: str) -> dict[Pubkey, Stored]:
        return {address: found for address in self._placed.get(pool_id, ())
                if (found := self.account(address)) is not None}

    def program_accounts(self, program: Pubkey) -> list[tuple[Pubkey, Stored]]:
        return [(address, Stored(found.owner, bytes(found.data), found.lamports,
                                 found.executable))
                for address, found in self.runtime.svm.get_program_accounts(program)
                if found.lamports > 0]

    def balances(self, keys: Sequence[Pubkey]) -> tuple[list[int], list[dict[str, object]]]:
        """Every account's lamports, and every token account's balance, as getTransaction's
        meta lists them (pre or post)."""
        lamports, tokens = [], []
        for index, key in enumerate(keys):
            found = self.runtime.svm.get_account(key)
            lamports.append(0 if found is None else int(found.lamports))
            if found is None or found.owner != TOKEN or len(found.data) != TOKEN_ACCOUNT_SIZE:
                continue
            held = TOKEN_ACCOUNT.decode(bytes(found.data))
            mint = str(held["mint"])
            places = self.decimals.get(mint, LAUNCH_DECIMALS)
            tokens.append({"accountIndex": index, "mint": mint, "owner": str(held["owner"]),
                           "programId": str(TOKEN), "uiTokenAmount": ui_amount(
                               int(held["amount"]), places)})
        return lamports, tokens

    # -- what the record keeps beyond the wallet ----------------------------------------------
    def kept_accounts(self, keys: Sequence[Pubkey], wallet: set[Pubkey]) -> dict[str, object]:
        """`kept_later`'s, read now."""
        return {key: value for key, read in self.kept_later(keys, wallet).items()
                if (value := read()) is not None}

    def kept_later(self, keys: Sequence[Pubkey], wallet: set[Pubkey]) -> dict[str, Later]:
        """For the record, read when it is written (a closed one as 0 lamports): the accounts
        a transaction named that are neither the funded wallet's nor a program, and the pools'
        accounts other traders' swaps changed since the record last kept any. A pool's are
        kept as their bytes: the pool is read back from them at a restart."""
        named, self._unkept = [*keys, *self._unkept], set()
        return {f"account:{key}": partial(self._kept_account, key) for key in named
                if key not in wallet and key not in FIXED and str(key) not in self.decimals}

    def _kept_account(self, key: Pubkey) -> dict[str, object] | None:
        pools = self._pool_keys
        found = self.runtime.svm.get_account(key)
        if found is None or (found.lamports == 0 and not found.data):
            return {"lamports": 0} if key in self._keeps or key in pools else None
        if found.executable or (found.owner in (AMM_V4, CPMM, DLMM) and key not in pools):
            return None
        self._keeps.add(key)
        return {"lamports": found.lamports, "owner": str(found.owner),
                "data": base64.b64encode(bytes(found.data)).decode()}

    def restore_accounts(self, accounts: dict[str, dict[str, object]]) -> None:
        for address, kept in accounts.items():
            key = Pubkey.from_string(address)
            self._keeps.add(key)
            lamports = int(str(kept["lamports"]))
            if lamports == 0:
                self.runtime.svm.set_account(key, _system(0))
                continue
            self.runtime.svm.set_account(key, Account(
                lamports, base64.b64decode(str(kept["data"])), Pubkey.from_string(
                    str(kept["owner"])), False, 0))

    def known(self, also: set[Pubkey]) -> list[tuple[Pubkey, Stored]]:
        """The accounts the runtime holds that the cluster can name: pools, programs, what the
        record keeps, and `also`."""
        named = self._pool_keys | self._keeps | also | {AMM_V4, CPMM, DLMM}
        return [(key, found) for key in named if (found := self.account(key)) is not None]

    def table(self, address: Pubkey, slot: int) -> tuple[Pubkey, ...] | None:
        """A lookup table's addresses usable at `slot`, as the runtime holds the table."""
        found = self.runtime.svm.get_account(address)
        if found is None or found.owner != lookup_tables.PROGRAM:
            return None
        try:
            return LookupTable.decode(address, bytes(found.data)).usable(slot)
        except BadTable:
            return None

    def pool_of(self, key: Pubkey) -> str | None:
        """The pool one of whose accounts is at `key`."""
        return self._owners.get(key)

    def place_system(self, key: Pubkey, lamports: int) -> None:
        self.runtime.svm.set_account(key, _system(lamports))

    # -- the wallet --------------------------------------------------------------------------
    def place_wallet(self, owner: str, wallet: Wallet) -> None:
        key = Pubkey.from_string(owner)
        self.runtime.svm.set_account(key, _system(wallet.balances.get(WSOL_MINT, 0)))
        for mint in wallet.accounts:
            address = Pubkey.from_string(mint)
            self.runtime.put_token_account(associated_token_address(key, address), address,
                                           key, wallet.balances.get(mint, 0))

    def read_wallet(self, owner: str, wallet: Wallet, mints: Iterable[str]) -> None:
        """The wallet's lamports and token accounts of `mints`, as the runtime holds them."""
        key = Pubkey.from_string(owner)
        wallet.balances[WSOL_MINT] = int(self.runtime.svm.get_balance(key) or 0)
        for mint in mints:
            if mint == WSOL_MINT:
                continue
            data = self.runtime.data(associated_token_address(key, Pubkey.from_string(mint)))
            if data is None:
                wallet.accounts.discard(mint)
                wallet.balances.pop(mint, None)
                continue
            wallet.accounts.add(mint)
            wallet.balances[mint] = self.runtime.token_amount(
                associated_token_address(key, Pubkey.from_string(mint)))

    def charge(self, owner: str, lamports: int) -> None:
        """Take a fee the runtime did not (a failure scripted before the program ran)."""
        key = Pubkey.from_string(owner)
        self.runtime.svm.set_account(key, _system(int(self.runtime.svm.get_balance(key) or 0)
                                                  - lamports))

    # -- transactions ------------------------------------------------------------------------
    def execute(self, payload: str, *, dry: bool = False, detail: bool = False) -> Execution:
        """Run a signed transaction (base64), or only simulate it (`dry`). A landing reports
        its inner instructions; a simulation only with `detail`, and then the accounts as it
        left them too (the engine's own simulations need neither)."""
        transaction = VersionedTransaction.from_bytes(base64.b64decode(payload))
        svm = self.runtime.svm
        if lookup_tables.PROGRAM in transaction.message.account_keys:
            self._recent_slots()  # a table is derived from a recent slot: SlotHashes says which
        result = (svm.simulate_transaction(transaction) if dry
                  else svm.send_transaction(transaction))
        told = detail or not dry
        if isinstance(result, FailedTransactionMetadata):
            meta = result.meta()
            err = node_error(result.err())
            code, message = engine_code(err, transaction, tuple(meta.logs()))
            return Execution(err, code, message, tuple(meta.logs()),
                             int(meta.compute_units_consumed()), inner_instructions(meta) if told else [])
        meta = result.meta() if not isinstance(result, TransactionMetadata) else result
        post = () if isinstance(result, TransactionMetadata) or not detail else tuple(
            (key, Stored(found.owner, bytes(found.data), found.lamports, found.executable))
            for key, found in result.post_accounts())
        return Execution(None, None, "", tuple(meta.logs()), int(meta.compute_units_consumed()),
                         inner_instructions(meta) if told else [], post)

    def _recent_slots(self) -> None:
        """SlotHashes as a validator's bank at this slot holds it: the slots before it (what
        CreateLookupTable checks its slot against), with the cluster's blockhashes."""
        slot = int(self.runtime.svm.get_clock().slot)
        self.runtime.svm.set_slot_hashes([
            (s, Hash.from_string(blockhash_at(s)))
            for s in range(slot - 1, max(slot - 1 - lookup_tables.RECENT_SLOTS, -1), -1)])

    def trade(self, info: PoolInfo, pool: Pool, mint_in: str, amount: int) -> None:
        """Another trader's swap, run by the program; the pool accounts it wrote are the
        record's to keep with the next landing. Raises InsufficientFunds when the program
        refuses it."""
        self._unkept |= self._traders.swap(info, pool, mint_in, amount) & self._pool_keys


def _system(lamports: int) -> Account:
    """A wallet: lamports, no data, owned by the System program."""
    return Account(lamports, b"", SYSTEM, False, 0)

"""The programs themselves, as bytecode, in `solders.litesvm`: Raydium's and Meteora's compiled
programs loaded from a directory of `<program id>.so` files (as `solana-test-validator
--bpf-program` takes them), with System, ComputeBudget, SPL Token, Associated Token Account and
Memo built in. What a transaction does here is what the chain would do: no model of ours runs.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from solders.account import Account as SvmAccount
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from engine.solana.accounts import TOKEN_ACCOUNT
from engine.solana.programs import TOKEN

MINT_SIZE, TOKEN_ACCOUNT_SIZE = 82, 165
NATIVE_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")


class ProgramsMissing(Exception):
    """The directory holds none of the programs asked for."""


def program_files(directory: Path) -> dict[Pubkey, Path]:
    """Every `<program id>.so` in `directory`, by program id."""
    if not directory.is_dir():
        raise ProgramsMissing(f"{directory} is not a directory of the programs' bytecode")
    found = {}
    for path in sorted(directory.glob("*.so")):
        try:
            found[Pubkey.from_string(path.stem)] = path
        except ValueError:
            continue  # not named for a program id
    return found


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one transaction did: its error (None when it succeeded), logs and compute units."""

    error: str | None
    logs: tuple[str, ...]
    units: int

    @property
    def ok(self) -> bool:
        return self.error is None

    def custom_error(self) -> int | None:
        """The program's own error code (Anchor's, or a native program's), if it failed so."""
        for line in self.logs:
            if "custom program error: 0x" in line:
                return int(line.rsplit("0x", 1)[1].split()[0], 16)
        for line in self.logs:
            if "Error Number: " in line:
                return int(line.split("Error Number: ", 1)[1].split(".")[0])
        return None


class Runtime:
    def __init__(self, programs: Path, wanted: Sequence[Pubkey] = ()) -> None:
        self.svm = LiteSVM()
        self._time: tuple[int, int | None] | None = None  # the clock set last (set_time)
        files = program_files(programs)
        missing = [str(p) for p in wanted if p not in files]
        if missing:
            raise ProgramsMissing(f"{programs} has no {', '.join(missing)} (as <id>.so)")
        for program, path in files.items():
            self.svm.add_program_from_file(program, path)

    # -- accounts ------------------------------------------------------------------------------
    def rent(self, size: int) -> int:
        return int(self.svm.minimum_balance_for_rent_exemption(size))

    def put(self, address: Pubkey, owner: Pubkey, data: bytes, lamports: int | None = None) -> None:
        """An account as a program would have written it, rent-exempt for its size."""
        self.svm.set_account(address, SvmAccount(
            lamports if lamports is not None else self.rent(len(data)), data, owner, False, 0))

    def data(self, address: Pubkey) -> bytes | None:
        account = self.svm.get_account(address)
        return None if account is None else bytes(account.data)

    def put_mint(self, address: Pubkey, decimals: int, supply: int = 0) -> None:
        """An initialised SPL mint with no authority left (as a launched token's)."""
        data = struct.pack("<I32sQBBI32s", 0, bytes(32), supply, decimals, 1, 0, bytes(32))
        self.put(address, TOKEN, data)

    def put_token_account(self, address: Pubkey, mint: Pubkey, owner: Pubkey,
                          amount: int) -> None:
        """An initialised token account; of the native mint, a native one (its lamports are
        the rent reserve plus the amount, as SyncNative and CloseAccount expect)."""
        native = mint == NATIVE_MINT
        rent = self.rent(TOKEN_ACCOUNT_SIZE)
        data = TOKEN_ACCOUNT.encode({"mint": mint, "owner": owner, "amount": amount,
                                     "state": 1, "is_native_tag": int(native),
                                     "is_native": rent if native else 0})
        self.put(address, TOKEN, data, rent + amount if native else rent)

    def token_amount(self, address: Pubkey) -> int:
        data = self.data(address)
        if data is None:
            raise KeyError(f"no token account {address}")
        return int(TOKEN_ACCOUNT.decode(data)["amount"])

    def set_time(self, unix_timestamp: int, slot: int | None = None) -> None:
        if (unix_timestamp, slot) == self._time:
            return  # every transaction of a slot sets it: once is enough (nothing else does)
        self._time = (unix_timestamp, slot)
        clock = self.svm.get_clock()
        clock.unix_timestamp = unix_timestamp
        if slot is not None:
            clock.slot = slot
        self.svm.set_clock(clock)

    def now(self) -> int:
        return int(self.svm.get_clock().unix_timestamp)

    # -- transactions --------------------------------------------------------------------------
    def fund(self, owner: Pubkey, lamports: int) -> None:
        self.svm.airdrop(owner, lamports)

    def send(self, instructions: Sequence[Instruction], payer: Keypair,
             payer_key: Pubkey | None = None) -> Outcome:
        """Sign and execute; a new blockhash for each, so identical transactions both run.
        `payer_key`: the payer's public key, if known (deriving it costs 20 µs)."""
        blockhash: Hash = self.svm.latest_blockhash()
        message = MessageV0.try_compile(payer_key or payer.pubkey(), list(instructions), [],
                                        blockhash)
        # Signed, unless the runtime does not check signatures (the cluster checks its own):
        # then a placeholder saves the ed25519 work.
        signatures = [payer.sign_message(to_bytes_versioned(message))] if \
            self.svm.get_sigverify() else [Signature.default()]
        result = self.svm.send_transaction(VersionedTransaction.populate(message, signatures))
        self.svm.expire_blockhash()
        if isinstance(result, FailedTransactionMetadata):
            meta = result.meta()
            return Outcome(str(result.err()), tuple(meta.logs()), int(meta.compute_units_consumed()))
        return Outcome(None, tuple(result.logs()), int(result.compute_units_consumed()))

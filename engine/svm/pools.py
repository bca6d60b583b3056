"""Pools placed in the runtime as their programs would have made them, and swapped there.

A pool's accounts are the cluster's own encoding (`encode_pool`): the same bytes the engine reads
over JSON-RPC, here executed on by the real program. Mints are written too (the programs read
them), and vaults of the native mint are native token accounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from solders.compute_budget import set_compute_unit_limit
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool
from engine.solana.accounts import TOKEN_ACCOUNT
from engine.solana.instructions import Swap, create_ata_idempotent, swap
from engine.solana.pool_accounts import encode_pool
from engine.solana.pool_reading import read_pool, related
from engine.solana.programs import TOKEN, PoolInfo, associated_token_address
from engine.svm.runtime import Outcome, Runtime

Pool = CpPool | DlmmPool
MAX_UNITS = 1_400_000  # what a transaction may ask for: a swap across many bins needs it


def place(runtime: Runtime, info: PoolInfo, pool: Pool, decimals: dict[str, int],
          opened: int = 0) -> set[Pubkey]:
    """Write every account of `pool` (and its mints) into the runtime; the pool's addresses."""
    for mint in (info.mint_a, info.mint_b):
        address = Pubkey.from_string(mint)
        if runtime.data(address) is None:
            runtime.put_mint(address, decimals[mint])
    accounts = encode_pool(info, pool, opened)
    for address, account in accounts.items():
        if account.owner == TOKEN and len(account.data) == 165:
            held = TOKEN_ACCOUNT.decode(account.data)
            runtime.put_token_account(address, held["mint"], held["owner"], held["amount"])
        else:
            runtime.put(address, account.owner, account.data)
    return set(accounts)


def read(runtime: Runtime, info: PoolInfo) -> Pool:
    """The pool as the engine reads it from its accounts, found as the engine finds them."""
    keys = info.keys
    state = runtime.data(keys.address)
    if state is None:
        raise KeyError(f"no pool at {keys.address}")
    wanted = [*related(keys.program, keys.address, state), keys.vault_a, keys.vault_b]
    raw = {address: data for address in wanted if (data := runtime.data(address)) is not None}
    pool, _, _ = read_pool(info.pool_id, keys.program, keys.address, state, raw)
    return pool


@dataclass
class Trader:
    """A wallet with token accounts, swapping through the real programs."""

    runtime: Runtime
    keypair: Keypair
    owner: Pubkey = field(init=False)  # derived once: Keypair.pubkey() costs 20 µs a call

    def __post_init__(self) -> None:
        self.owner = self.keypair.pubkey()

    @classmethod
    def funded(cls, runtime: Runtime, lamports: int = 10**12) -> Trader:
        keypair = Keypair()
        runtime.fund(keypair.pubkey(), lamports)
        return cls(runtime, keypair)

    def holding(self, mint: Pubkey) -> Pubkey:
        return associated_token_address(self.owner, mint)

    def give(self, mint: Pubkey, amount: int) -> None:
        self.runtime.put_token_account(self.holding(mint), mint, self.owner, amount)

    def balance(self, mint: Pubkey) -> int:
        return self.runtime.token_amount(self.holding(mint))

    def swap(self, s: Swap, unit_limit: int = MAX_UNITS, *, open_output: bool = True) -> Outcome:
        """The swap, after the output's token account is made (if it is not yet; a trader
        that holds both tokens already says so, `open_output=False`, and saves the Associated
        Token Account program's run: a fifth of a Raydium swap's time)."""
        opening = [create_ata_idempotent(self.owner, self.owner, s.mint_out)] if open_output \
            else []
        return self.runtime.send([set_compute_unit_limit(unit_limit), *opening,
                                  swap(s, self.owner)], self.keypair, self.owner)

"""Other traders' swaps with the programs: one wallet, funded as genesis would fund it, that holds
every token it trades, so that each swap is the program's swap and nothing else (no account to
open on the way)."""

from __future__ import annotations

from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM

from engine.domain.errors import InsufficientFunds
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool
from engine.solana.instructions import Swap, swap
from engine.solana.programs import PoolInfo, bin_array_index
from engine.svm.pools import Trader
from engine.svm.runtime import Runtime

FUNDS = 10**18  # what the wallet holds of each token: never short


class RuntimeTraders:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._trader: Trader | None = None

    def swap(self, info: PoolInfo, pool: CpPool | DlmmPool, mint_in: str,
             amount: int) -> set[Pubkey]:
        """Swap `amount` of `mint_in` on the pool; the accounts the swap may have written.
        Raises InsufficientFunds when the program refuses it (the trader tries again next
        slot)."""
        trader = self._funded(info)
        mint_out = info.mint_b if mint_in == info.mint_a else info.mint_a
        arrays = arrays_ahead(pool, mint_in == pool.mints[0]) if isinstance(pool, DlmmPool) else ()
        request = Swap(info.keys, Pubkey.from_string(mint_in), Pubkey.from_string(mint_out),
                       amount, 0, False, arrays)
        outcome = trader.swap(request, open_output=False)  # `_funded` gave it both accounts
        if not outcome.ok:
            raise InsufficientFunds(f"the program refused: {outcome.error}")
        return {meta.pubkey for meta in swap(request, trader.owner).accounts if meta.is_writable}

    def _funded(self, info: PoolInfo) -> Trader:
        if self._trader is None:  # funded by writing its account, as genesis would
            self._trader = Trader(self._runtime, Keypair())
            self._runtime.svm.set_account(self._trader.owner,
                                          Account(FUNDS, b"", SYSTEM, False, 0))
        for mint in (info.mint_a, info.mint_b):
            key = Pubkey.from_string(mint)
            if self._runtime.data(self._trader.holding(key)) is None or \
                    self._trader.balance(key) < FUNDS // 2:
                self._trader.give(key, FUNDS)
        return self._trader


def arrays_ahead(pair: DlmmPool, x_in: bool) -> tuple[int, ...]:
    """The bin arrays a swap may cross: the active one, then those holding liquidity in the
    swap's direction (the program walks them in this order)."""
    start = bin_array_index(pair.active_id)
    held = {bin_array_index(b) for b, amounts in pair.bins.items() if any(amounts)}
    ahead = sorted((i for i in held if (i <= start if x_in else i >= start)), reverse=x_in)
    return tuple(dict.fromkeys([start, *ahead]))

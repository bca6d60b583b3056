"""The market's pools in the programs' runtime (with `--programs`): written into it where the
simulation changes a pool (genesis, a launch, a scripted move, a restart), and read back from
it where the programs changed one (a landing, another trader's swap, a cheatcode)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from solders.pubkey import Pubkey

from engine.domain.tokens import LAUNCH_DECIMALS, TOKENS, WSOL_MINT
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool
from engine.simulator.bytecode import Bytecode
from engine.simulator.cluster import GENESIS_UNIX, SimChain
from engine.simulator.dex import Pool
from engine.simulator.faucet import FAUCET_LAMPORTS, faucet_keypair
from engine.simulator.flow import OtherTraders
from engine.simulator.slots import SLOT_SECONDS
from engine.solana.programs import PoolInfo, associated_token_address


class Market(Protocol):
    """What the runtime's pools read of the simulated market."""

    chain: SimChain
    traders: OtherTraders

    @property
    def launches(self) -> list[dict[str, Any]]: ...

    def pools_of(self, pairs: set[frozenset[str]] | None) -> list[str]: ...

    def pool(self, pool_id: str) -> Pool: ...

    def pool_info(self, pool_id: str) -> PoolInfo: ...

    def pool_at(self, address: Pubkey) -> PoolInfo | None: ...

    def opened(self, pool_id: str) -> int: ...


class RuntimePools:
    """A landing only marks the pools it named as changed; a pool object is read back from its
    accounts when something next asks for it (other traders at the next slot, a cheatcode, a
    test), so a block of landings on one pool costs one read, not one a landing."""

    def __init__(self, bytecode: Bytecode, market: Market) -> None:
        self.bytecode, self._market = bytecode, market
        self._stale: set[str] = set()  # pools the programs changed since they were read

    def load(self, saved: dict[str, Any]) -> None:
        """Write every pool, mint, the wallet, the faucet and every account the record keeps
        into the runtime; from now on other traders swap through the programs too."""
        market, bytecode, chain = self._market, self.bytecode, self._market.chain
        bytecode.decimals = {t.mint: t.decimals for t in TOKENS} | {
            x["mint"]: LAUNCH_DECIMALS for x in market.launches}
        for pool_id in market.pools_of(None):
            self.place(pool_id)
        if chain.owner is not None:
            bytecode.place_wallet(chain.owner, chain.wallet)
        bytecode.place_system(faucet_keypair(chain.genesis_hash).pubkey(), FAUCET_LAMPORTS)
        bytecode.restore_accounts({key[8:]: value for key, value in saved.items()
                                   if key.startswith("account:")})
        self._stale = set(market.pools_of(None))  # the record's accounts are the pools' truth
        market.traders.swap = self._trade

    def _trade(self, pool: Pool, mint_in: str, amount: int, now: int) -> None:
        """Another trader's swap, as a transaction the programs run."""
        self.bytecode.at(int((now - GENESIS_UNIX) / SLOT_SECONDS), now)
        self.bytecode.trade(self._market.pool_info(pool.id), pool, mint_in,  # type: ignore[arg-type]
                            amount)
        self._stale.add(pool.id)

    def place(self, pool_id: str) -> list[Pubkey]:
        """Write the pool's accounts as its object is now; every account written or closed."""
        pool = self._market.pool(pool_id)
        assert isinstance(pool, CpPool | DlmmPool)
        return self.bytecode.place(self._market.pool_info(pool_id), pool,
                                   self._market.opened(pool_id))

    def changed(self, keys: Sequence[Pubkey]) -> set[frozenset[str]]:
        """The programs wrote these accounts: the pools any of them belongs to are to be read
        back; their pairs."""
        pairs = set()
        for key in keys:
            info = self._market.pool_at(key) or self._owner_of(key)
            if info is not None:
                self._stale.add(info.pool_id)
                pairs.add(frozenset((info.mint_a, info.mint_b)))
        return pairs

    def fresh(self, pool_id: str, pool: Pool) -> Pool:
        """The pool object, read back first if the programs changed its accounts since."""
        if pool_id in self._stale:
            assert isinstance(pool, CpPool | DlmmPool)
            self._stale.discard(pool_id)
            self.bytecode.read_back(self._market.pool_info(pool_id), pool)
        return pool

    def refresh(self) -> None:
        """Read back every changed pool (other traders price their swaps from them)."""
        for pool_id in list(self._stale):
            self._market.pool(pool_id)

    def wallet_addresses(self) -> set[Pubkey]:
        """The funded wallet and its token accounts: the record keeps them as the wallet."""
        chain = self._market.chain
        if chain.owner is None:
            return set()
        key = Pubkey.from_string(chain.owner)
        return {key} | {associated_token_address(key, Pubkey.from_string(mint))
                        for mint in [*chain.wallet.accounts, WSOL_MINT]}

    def _owner_of(self, key: Pubkey) -> PoolInfo | None:
        """The pool one of whose accounts (a vault, a bin array) is at `key`."""
        pool_id = self.bytecode.pool_of(key)
        return None if pool_id is None else self._market.pool_info(pool_id)

"""The simulated market as one object: venues, chain, other traders, scriptable faults."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from loguru import logger
from solders.pubkey import Pubkey

from engine.domain.tokens import LAUNCH_DECIMALS
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool
from engine.ports import Clock
from engine.simulator import commitment
from engine.simulator.accounts_view import PoolsAsAccounts
from engine.simulator.bytecode import Bytecode
from engine.simulator.chain_events import ChainEvents
from engine.simulator.cluster import SimChain
from engine.simulator.dex import Dex, Pool
from engine.simulator.faucet import Faucet
from engine.simulator.faults import Faults
from engine.simulator.flow import OtherTraders
from engine.simulator.launches import Launches
from engine.simulator.ledger import ChainRecord
from engine.simulator.ledger_rpc import block_json, vote_json
from engine.simulator.message import Message
from engine.simulator.node_info import NodeInfo
from engine.simulator.pubsub import PubSub
from engine.simulator.rpc_server import ClusterRpc
from engine.simulator.runtime_pools import RuntimePools
from engine.simulator.slots import SLOT_SECONDS
from engine.solana.programs import PoolInfo


@dataclass
class SimWorld:
    raydium: Dex
    meteora: Dex
    chain: SimChain
    faults: Faults
    traders: OtherTraders
    rng: random.Random
    latency_scale: float
    listeners: list[Callable[[set[frozenset[str]] | None], None]] = field(default_factory=list)
    token_launches: Launches = field(init=False)
    _addresses: dict[Pubkey, str] = field(default_factory=dict)  # pool account -> pool id
    _accounts: dict[str, str] = field(default_factory=dict)  # pool id -> its account
    _as_accounts: PoolsAsAccounts | None = None
    _rpc: ClusterRpc | None = None
    record: ChainRecord | None = None  # the durable record, when the cluster keeps one
    slot_listeners: list[Callable[[int], None]] = field(default_factory=list)  # each new slot
    airdropped: dict[str, int] = field(default_factory=dict)  # the faucet's, by address
    bytecode: Bytecode | None = None  # the programs that run the transactions (--programs)
    runtime: RuntimePools | None = None  # the pools in the programs' runtime (bytecode's)

    # -- the programs' runtime (with --programs) ----------------------------------------------
    def wallet_addresses(self) -> set[Pubkey]:
        """The funded wallet and its token accounts (with the programs)."""
        return set() if self.runtime is None else self.runtime.wallet_addresses()

    def read_back(self, keys: Sequence[Pubkey]) -> None:
        """The programs wrote these accounts: the pools they belong to are read back when next
        asked for; their pairs' watchers are told now."""
        pairs = set() if self.runtime is None else self.runtime.changed(keys)
        if pairs:
            self.notify(pairs)

    def landing(self, signature: str) -> tuple[int, Any] | None:
        """(slot, `err` as a node reports it) of a landed transaction this cluster remembers."""
        return self.chain.history.landing(signature)

    def received(self, signature: str) -> bool:
        return self.chain.pending(signature) or signature in self.chain.history

    def finalized_at(self) -> int | None:
        """The root, for subscriptions at finalized; None while no time passes."""
        return None if self.chain.slots.no_time else commitment.root(self.chain.block_height)

    def pool(self, pool_id: str) -> Pool:
        """A pool by its name in this simulation, or by its address on the cluster (the id
        the engine's routes carry)."""
        pool_id = self.named(pool_id)
        for venue in self.venues:
            if pool_id in venue.pools:
                found = venue.pools[pool_id]
                return found if self.runtime is None else self.runtime.fresh(pool_id, found)
        raise KeyError(pool_id)

    def named(self, pool: str) -> str:
        """The simulation's name of a pool given by name or by its account's address."""
        if any(pool in venue.pools for venue in self.venues):
            return pool
        try:
            found = self.pool_at(Pubkey.from_string(pool))
        except ValueError:
            return pool  # neither: the caller's KeyError names what was asked
        return pool if found is None else found.pool_id

    def trade(self, now: int, slot: int | None = None) -> set[frozenset[str]]:
        """One slot of other traders' swaps (`slot`, at unix time `now`; by default the
        current one); a pool whose math fails is frozen, once."""
        if self.runtime is not None and self.traders.active:  # they price from the pools
            self.runtime.refresh()
        moved = self.traders.trade(now)
        # The slot lived through, which the cluster may be catching up on: not the newest.
        slot = self.chain.block_height if slot is None else slot
        for listener in self.slot_listeners:
            listener(slot)
        for pool in self.traders.traded:  # their swaps bid for the same accounts as ours
            self.chain.fees.others(slot, self._account(pool.id))
        for pool, reason in self.traders.broken:
            self.traders.remove(pool)
            for venue in self.venues:
                venue.freeze(pool.id, f"swap failed: {reason}")
        self.traders.broken.clear()
        return moved

    def pool_info(self, pool_id: str) -> PoolInfo:
        venue = self.raydium if pool_id in self.raydium.pools else self.meteora
        return venue.info(pool_id)

    def _account(self, pool_id: str) -> str:
        """A pool's account address (fixed for the pool's life)."""
        found = self._accounts.get(pool_id)
        if found is None:
            found = self._accounts[pool_id] = str(self.pool_info(pool_id).keys.address)
        return found

    def pool_at(self, address: Pubkey) -> PoolInfo | None:
        """The pool whose account is at `address` (how the cluster reads an instruction)."""
        # Pools are only ever added (a launch): the index is made again when there are more.
        # Most addresses a transaction names are no pool's, and must not cost a new index.
        if len(self._addresses) != sum(len(v.pools) for v in self.venues):
            self._addresses = {self.pool_info(p).keys.address: p
                               for v in self.venues for p in v.pools}
        known = self._addresses.get(address)
        return None if known is None else self.pool_info(known)

    # -- pools as accounts (what getAccountInfo, getMultipleAccounts, getProgramAccounts read) --
    @property
    def as_accounts(self) -> PoolsAsAccounts:
        if self._as_accounts is None:
            self._as_accounts = PoolsAsAccounts(self)
        return self._as_accounts

    def opened(self, pool_id: str) -> int:
        return self.as_accounts.opened(pool_id)

    def pools_of(self, pairs: set[frozenset[str]] | None) -> list[str]:
        """The pools (with their accounts) that trade these pairs; None: every pool."""
        return [pool_id for v in self.venues for pool_id, pool in v.pools.items()
                if isinstance(pool, CpPool | DlmmPool)
                and (pairs is None or frozenset(pool.mints) in pairs)]

    def slot(self) -> int:
        return self.chain.block_height

    @property
    def runs_any_program(self) -> bool:
        """Whether any program's instructions run here (the programs' runtime), not only the
        model's swaps and lookup tables."""
        return self.bytecode is not None

    def problems(self) -> list[str]:
        # The chain's own trouble (a record it cannot write) is its node's getHealth answer,
        # which the engine asks wherever the node runs.
        return [f"{venue.name} pool {pool_id} frozen ({reason})"
                for venue in self.venues for pool_id, reason in venue.frozen.items()]

    def notify(self, pairs: set[frozenset[str]] | None) -> None:
        """Pool state changed for these pairs (None: any); price watchers re-check."""
        self.token_launches.open_due()
        for listener in self.listeners:
            listener(pairs)

    async def run(self, clock: Clock, launch_rate: float = 0.0) -> None:
        """Let the market live slot by slot (other traders, random launches) in real time."""
        if self.latency_scale <= 0:
            return  # zero latency: the market moves with landings and scripted changes only
        tick = SLOT_SECONDS * self.latency_scale
        while True:
            await clock.sleep(tick)
            self.chain.advance()
            self.token_launches.open_due()
            if launch_rate and self.rng.random() < launch_rate / 60 * SLOT_SECONDS:
                launched = self.launch()
                logger.info("token launch: {} on {}", launched["mint"], launched["venue"])

    def launch(self, *, mint: str | None = None, venue: str | None = None, quote: str = "SOL",
               price: Decimal | None = None, liquidity: Decimal | None = None,
               slot: int | None = None) -> dict[str, Any]:
        """A new mint and its first pool, tradable from `slot` (default: now)."""
        return self.token_launches.launch(mint=mint, venue=venue, quote=quote, price=price,
                                          liquidity=liquidity, slot=slot)

    def open_launched(self, venue: str, pool: Pool, slot: int, atoms_price: float) -> None:
        """A launch's pool opens: on its venue, to other traders and in the runtime. Its
        first mint is the one launched."""
        (self.raydium if venue == "raydium" else self.meteora).add_pool(pool, slot)
        self.traders.add(pool, atoms_price)
        if self.runtime is not None:
            self.runtime.bytecode.decimals[pool.mints[0]] = LAUNCH_DECIMALS
            self.runtime.place(pool.id)

    @property
    def rpc(self) -> ClusterRpc:
        """The cluster's JSON-RPC (one per world: its PubSub listens to the pools)."""
        if self._rpc is None:
            vote = NodeInfo(self.chain).vote
            events = ChainEvents(self, block=block_json, vote=lambda slot: vote_json(slot, vote))
            self._rpc = ClusterRpc(self.chain, self.as_accounts,
                                   PubSub(self, self.as_accounts), events,
                                   Faucet(self.chain, self.airdropped))
        return self._rpc

    @property
    def landing_listeners(self) -> list[Callable[[Message, Any, dict[str, Any]], None]]:
        return self.chain.landing_listeners

    @property
    def venues(self) -> list[Dex]:
        return [self.raydium, self.meteora]

    @property
    def launches(self) -> list[dict[str, Any]]:
        """The launches opened so far, in order (each as the record keeps it)."""
        return self.token_launches.opened

    def is_known_mint(self, mint: str) -> bool:
        return self.token_launches.is_known_mint(mint)

    def launched_at(self, mint: str) -> int | None:
        return self.token_launches.opened_at(mint)

    def hold_prices(self) -> None:
        """Stop other traders' flow: prices move only with the engine's own swaps."""
        self.traders.enabled = False

    def move_price(self, pool_id: str, factor: float) -> None:
        """Make the pool's first token `factor` times dearer (e.g. 1.01 = +1 %); the pool by
        its name or its address."""
        pool_id = self.named(pool_id)
        pool = self.pool(pool_id)
        pool.scale_price(factor)
        if self.runtime is None:
            self.chain.keep({f"pool:{pool_id}": pool.state()})
        else:  # a scripted move: the accounts rewritten, as a cheatcode would, and kept
            written = self.runtime.place(pool_id)
            self.chain.keep(self.runtime.bytecode.kept_accounts(written,
                                                                self.wallet_addresses()))
        self.notify({frozenset(pool.mints)})

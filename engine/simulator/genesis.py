"""The simulated market's assembly: the seed's pools, the wallet, other traders, the cluster
and, with a record, the state it left; what each landing leaves for the record to keep."""

from __future__ import annotations

import random
from pathlib import Path

from engine.domain.tokens import WSOL_MINT
from engine.ports import Clock
from engine.simulator.bytecode import Bytecode
from engine.simulator.cluster import SimChain
from engine.simulator.dex import Dex, Pool
from engine.simulator.faults import Faults
from engine.simulator.flow import OtherTraders
from engine.simulator.launches import Launches
from engine.simulator.ledger import ChainRecord, Later, known
from engine.simulator.message import Message
from engine.simulator.pools import (
    load_seed,
    meteora_pools,
    raydium_pools,
    reference_prices,
)
from engine.simulator.runtime_executor import RuntimeExecutor
from engine.simulator.runtime_pools import RuntimePools
from engine.simulator.wallet import Wallet
from engine.simulator.world import SimWorld


def open_world(clock: Clock, *, seed: int | None, latency_scale: float, failure_rate: float,
               chain_db: str | None = None, funded: str | None = None,
               lamports: int | None = None, market_flow: float | None = None,
               programs: str | None = None) -> SimWorld:
    """A fresh market, or, given `chain_db`, the one recorded there (created if new).
    `funded`: the wallet genesis funds (SOL, and the listed tokens), `lamports` of SOL if
    given; no other address holds anything. `programs`: a directory of the programs'
    bytecode, which then runs every transaction (else the Python model does)."""
    bytecode = Bytecode(Path(programs)) if programs else None
    rng = random.Random(seed)
    # One stream per component, so adding a quote does not reshuffle the chain's luck.
    streams = [random.Random(rng.random()) for _ in range(4)]
    market = load_seed()
    ray_pools, met_pools = raydium_pools(market), meteora_pools(market)
    traders = OtherTraders([*ray_pools, *met_pools], reference_prices(market), streams[0],
                           per_slot=market_flow)
    faults = Faults()
    raydium, meteora = Dex("raydium", ray_pools), Dex("meteora", met_pools)
    all_pools: list[Pool] = [*ray_pools, *met_pools]
    pools = {p.id: p for p in all_pools}
    record = ChainRecord(chain_db) if chain_db else None
    saved = record.everything() if record else {}
    wallet = Wallet.from_state(saved["wallet"]) if "wallet" in saved else Wallet.generous()
    if lamports is not None and "wallet" not in saved:
        wallet.balances[WSOL_MINT] = lamports
    for key, state in saved.items():
        if key.startswith("pool:") and key[5:] in pools:  # launched ones: further down
            pools[key[5:]].restore(state)

    def snapshot(message: Message) -> dict[str, Later]:
        """What a landing changed, for the record, read once its batch is written: the
        wallet, and the states of the pools it swapped on (a launched one too, which the
        seeded `pools` do not hold). With the programs, the pools as their accounts' bytes
        instead: every account the transaction named, and those other traders' swaps
        changed since the record last kept any."""
        tables = chain.tables.state(message)  # the tables it wrote, encoded now
        kept: dict[str, Later] = {"wallet": chain.wallet.state,
                                  **{key: known(value) for key, value in tables.items()}}
        if bytecode is not None:  # the pools too, as their accounts' bytes
            return kept | bytecode.kept_later(message.account_keys, world.wallet_addresses())
        return kept | {f"pool:{ix.pool}": world.pool(ix.pool).state
                       for ix in message.instructions}

    def changed(pairs: set[frozenset[str]]) -> None:
        world.notify(pairs)

    chain = SimChain({v.name: v for v in (raydium, meteora)}, streams[3], clock,
                     latency_scale=latency_scale, failure_rate=failure_rate, faults=faults,
                     wallet=wallet, pools=lambda address: world.pool_at(address),
                     on_slot=lambda slot, now: world.trade(now, slot), on_change=changed,
                     record=record, snapshot=snapshot, funded=funded,
                     runs=None if bytecode is None else lambda c: RuntimeExecutor(
                         bytecode, c, lambda ids: world.read_back(ids), faults.slips),
                     tables=None if bytecode is None else lambda address: bytecode.table(
                         address, chain.block_height))
    chain.tables.restore(saved)
    world = SimWorld(raydium, meteora, chain, faults, traders, random.Random(rng.random()),
                     latency_scale, record=record, bytecode=bytecode)
    world.token_launches = Launches(world.rng, record, lambda: chain.block_height,
                                    world.open_launched, world.notify)
    for pool in world.token_launches.restore(saved):  # then as their swaps left them
        if f"pool:{pool.id}" in saved:
            pool.restore(saved[f"pool:{pool.id}"])
    if bytecode is not None:
        world.runtime = RuntimePools(bytecode, world)
        world.runtime.load(saved)
    world.airdropped = dict(saved.get("faucet", {}))
    return world

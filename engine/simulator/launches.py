"""Token launches in the simulation: their terms, chosen or checked, their first pools, and
the book of those opened and those scheduled for a later slot."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.domain import base58
from engine.domain.errors import InvalidLaunch
from engine.domain.tokens import LAUNCH_DECIMALS, lookup
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool, FeeParams
from engine.simulator.dex import Pool
from engine.simulator.ledger import ChainRecord
from engine.simulator.pools import build_bins

MIN_LAUNCH_TOKENS, MAX_LAUNCH_TOKENS = 1_000, 10**12


def choose_launch(rng: random.Random, mint: str | None, venue: str | None,
                  price: Decimal | None, liquidity: Decimal | None
                  ) -> tuple[str, str, Decimal, Decimal]:
    """The launch's mint, venue, price (quote per token) and liquidity (in the quote token):
    as given, or drawn like a pump.fun launch; refused when its pool could not hold them."""
    mint = mint or base58.encode(rng.randbytes(32))
    venue = venue or rng.choice(["raydium", "meteora"])
    price = price or Decimal(rng.uniform(2e-8, 2e-6)).quantize(Decimal("1e-12"))
    liquidity = liquidity or Decimal(rng.choice([50, 85, 200]))
    tokens = liquidity / price
    if not MIN_LAUNCH_TOKENS <= tokens <= MAX_LAUNCH_TOKENS:
        raise InvalidLaunch(f"liquidity / price is {tokens:.3g} tokens; a pool holds "
                            f"{MIN_LAUNCH_TOKENS:,}..{MAX_LAUNCH_TOKENS:,}, so both reserves "
                            "are non-zero and every amount fits a u64", field="liquidity")
    return mint, venue, price, liquidity


def launch_pool(venue: str, pool_id: str, mint: str, quote_mint: str, token_atoms: int,
                quote_atoms: int, price: Decimal, quote_decimals: int) -> Pool:
    """The launch's first pool: a Raydium CPMM pool, or a Meteora DLMM pool with wide bins."""
    if venue == "raydium":
        return CpPool(pool_id, "cpmm", mint, quote_mint, token_atoms, quote_atoms, 2_500, 10**6,
                      120_000, 40_000)
    bin_step = 100  # memecoin pools use wide bins
    atoms_price = float(price) * 10 ** (quote_decimals - LAUNCH_DECIMALS)
    active = round(math.log(atoms_price) / math.log(1 + bin_step / 10_000))
    spec = {"shape": "spot", "binsEachSide": 30, "depthX": token_atoms, "depthY": quote_atoms}
    return DlmmPool(pool_id, mint, quote_mint, bin_step, active, FeeParams(base_factor=10_000),
                    build_bins(spec, active), index_reference=active)


class Launches:
    """The market's launches: those opened, in the order they opened, and those scheduled for
    a later slot. Both are in the chain record before anything trades on them, so a restart
    reopens the same pools. `height`: the cluster's block height now. `add`: put an opened
    launch's pool on its venue (given the venue, the pool, its opening slot and its price in
    atoms). `changed`: told the pair of a launch once it opens."""

    def __init__(self, rng: random.Random, record: ChainRecord | None,
                 height: Callable[[], int], add: Callable[[str, Pool, int, float], None],
                 changed: Callable[[set[frozenset[str]]], None]) -> None:
        self._rng, self._record, self._height = rng, record, height
        self._add, self._changed = add, changed
        self.opened: list[dict[str, Any]] = []
        self.scheduled: list[tuple[int, dict[str, Any]]] = []

    def restore(self, saved: dict[str, Any]) -> list[Pool]:
        """Reopen the recorded launches as they were made, and take up the schedule; returns
        the pools reopened (their swaps' states are the caller's to restore)."""
        recorded = sorted((v for k, v in saved.items() if k.startswith("launch:")),
                          key=lambda launch: int(launch["slot"]))
        pools = [self._open(launch) for launch in recorded]
        self.scheduled = [(int(slot), {**plan, "price": Decimal(plan["price"]),
                                       "liquidity": Decimal(plan["liquidity"])})
                          for slot, plan in saved.get("scheduled", [])]
        return pools

    def launch(self, *, mint: str | None = None, venue: str | None = None, quote: str = "SOL",
               price: Decimal | None = None, liquidity: Decimal | None = None,
               slot: int | None = None) -> dict[str, Any]:
        """A new mint and its first pool, tradable from `slot` (default: now; pump.fun
        style)."""
        quote_token = lookup(quote)
        assert quote_token is not None
        mint, venue, price, liquidity = choose_launch(self._rng, mint, venue, price, liquidity)
        height = self._height()
        if slot is not None and slot > height:
            plan = {"mint": mint, "venue": venue, "quote": quote, "price": price,
                    "liquidity": liquidity}
            self.scheduled.append((slot, plan))
            self._keep_schedule()
            return {"mint": mint, "decimals": LAUNCH_DECIMALS, "venue": venue, "slot": slot,
                    "scheduled": True, "quoteMint": quote_token.mint, "price": str(price),
                    "liquidity": str(liquidity)}
        launched = {"mint": mint, "decimals": LAUNCH_DECIMALS, "venue": venue,
                    "pool": f"{venue[:3]}-launch-{mint[:6].lower()}",
                    "quoteMint": quote_token.mint, "price": str(price),
                    "liquidity": str(liquidity), "slot": height}
        self._open(launched)
        if self._record is not None:  # on disk before any swap on it (batches land in order)
            self._record.put_meta({f"launch:{launched['pool']}": launched})
        self._changed({frozenset((mint, quote_token.mint))})
        return launched

    def open_due(self) -> None:
        """Open the pools of scheduled launches whose slot has come."""
        height = self._height()
        due = [plan for slot, plan in self.scheduled if slot <= height]
        if not due:
            return
        self.scheduled = [(slot, plan) for slot, plan in self.scheduled if slot > height]
        for plan in due:
            self.launch(**plan)
        self._keep_schedule()

    def is_known_mint(self, mint: str) -> bool:
        """Listed, launched, or scheduled for launch."""
        return (lookup(mint) is not None or self.opened_at(mint) is not None
                or any(plan["mint"] == mint for _, plan in self.scheduled))

    def opened_at(self, mint: str) -> int | None:
        return next((x["slot"] for x in self.opened if x["mint"] == mint), None)

    def _open(self, launched: dict[str, Any]) -> Pool:
        """Open a launch's pool, from what `launch` records (also at a restart)."""
        quote_token = lookup(launched["quoteMint"])
        assert quote_token is not None
        price, liquidity = Decimal(launched["price"]), Decimal(launched["liquidity"])
        pool = launch_pool(launched["venue"], launched["pool"], launched["mint"],
                           quote_token.mint, int(liquidity / price * 10**LAUNCH_DECIMALS),
                           quote_token.to_atoms(liquidity), price, quote_token.decimals)
        self._add(launched["venue"], pool, int(launched["slot"]),
                  float(price) * 10 ** (quote_token.decimals - LAUNCH_DECIMALS))
        self.opened.append(launched)
        return pool

    def _keep_schedule(self) -> None:
        if self._record is not None:
            self._record.put_meta({"scheduled": [
                [slot, {**plan, "price": str(plan["price"]),
                        "liquidity": str(plan["liquidity"])}]
                for slot, plan in self.scheduled]})

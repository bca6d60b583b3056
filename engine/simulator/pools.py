"""Seed pools from the market fact sheet (../shared/market/pools.json), built in atoms."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources
from typing import Any

from engine.domain.tokens import lookup
from engine.pools.cpmm import CpPool
from engine.pools.dlmm import DlmmPool, FeeParams


def load_seed() -> dict[str, Any]:
    text = resources.files("engine.simulator").joinpath("data/pools.json").read_text()
    return dict(json.loads(text))


def _mint(symbol: str) -> str:
    token = lookup(symbol)
    assert token is not None, symbol
    return token.mint


def raydium_pools(seed: dict[str, Any]) -> list[CpPool]:
    pools = []
    for p in seed["raydium"]["pools"]:
        pools.append(CpPool(
            p["id"], p["program"], _mint(p["base"]), _mint(p["quote"]), int(p["reserveBase"]),
            int(p["reserveQuote"]), p["feeNumerator"], p["feeDenominator"],
            p.get("protocolFeeRate", 0), p.get("fundFeeRate", 0)))
    return pools


def meteora_pools(seed: dict[str, Any]) -> list[DlmmPool]:
    defaults = seed["meteora"]["dynamicFeeDefaults"]
    pools = []
    for p in seed["meteora"]["pools"]:
        fees = FeeParams(p["baseFactor"], p["baseFeePowerFactor"], defaults["filterPeriod"],
                         defaults["decayPeriod"], defaults["reductionFactor"],
                         defaults["variableFeeControl"], defaults["maxVolatilityAccumulator"])
        active = p["activeBinId"]
        pools.append(DlmmPool(p["id"], _mint(p["tokenX"]), _mint(p["tokenY"]), p["binStep"], active,
                              fees, build_bins(p["liquidity"], active), index_reference=active))
    return pools


def build_bins(spec: dict[str, Any], active: int) -> dict[int, list[int]]:
    """Spread depth over bins by the fact sheet's weights: spot 1, curve N+1-k, bidAsk k+1."""
    n, depth_x, depth_y = int(spec["binsEachSide"]), int(spec["depthX"]), int(spec["depthY"])
    shape = spec["shape"]

    def weight(k: int) -> int:
        return {"spot": 1, "curve": n + 1 - k, "bidAsk": k + 1}[shape]

    shares = [weight(0)] + [2 * weight(k) for k in range(1, n + 1)]
    total = sum(shares)
    bins = {active: [depth_x * shares[0] // total, depth_y * shares[0] // total]}
    for k in range(1, n + 1):
        bins[active + k] = [depth_x * shares[k] // total, 0]
        bins[active - k] = [0, depth_y * shares[k] // total]
    return bins


def reference_prices(seed: dict[str, Any]) -> dict[str, Decimal]:
    """USD reference price per mint, to steer the simulated flow back toward fair value."""
    return {_mint(s): Decimal(v) for s, v in seed["referencePricesUsd"].items()}

"""A quiet market (--market-flow 0): no other trader moves a pool, so every order's fill is
exactly what its route planned, to the atom: exact in and exact out (DLMM's among them), one
hop and two, one after another on the same pools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.testing import EngineHarness

ORDERS: list[dict[str, Any]] = [
    {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1.5},
    {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 150, "swapMode": "ExactOut"},
    {"tokenIn": "USDC", "tokenOut": "SOL", "amount": "250"},
    {"tokenIn": "USDC", "tokenOut": "SOL", "amount": 2, "swapMode": "ExactOut"},
    {"tokenIn": "SOL", "tokenOut": "BONK", "amount": 0.75},
    {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 40},
    {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 3000, "swapMode": "ExactOut"},
    {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 1, "orderType": "limit", "limitPrice": 1},
] * 3


async def test_in_a_quiet_market_every_fill_is_what_the_route_planned(tmp_path: Path) -> None:
    await every_fill_is_what_the_route_planned(tmp_path)


async def test_on_the_programs_every_fill_is_what_the_route_planned(tmp_path: Path,
                                                                    programs: Path) -> None:
    """The same orders, executed by the programs' bytecode: the engine's plan is theirs."""
    await every_fill_is_what_the_route_planned(tmp_path, programs=str(programs))


async def every_fill_is_what_the_route_planned(tmp_path: Path, **settings: Any) -> None:
    async with EngineHarness.start(tmp_path / "e.db", market_flow=0.0, **settings) as engine:
        venues = set()
        for body in ORDERS:
            order_id = await engine.submit(**{"orderType": "market", "slippage": 0.01, **body})
            assert (await engine.wait_terminal(order_id))["status"] == "confirmed"
            order = await engine.order(order_id)
            routed = next(e for e in order["events"] if e["status"] == "routing")
            venues.add(routed["venue"])
            if body.get("swapMode") == "ExactOut":
                assert order["fill"]["amountIn"] == routed["expectedIn"], order
            else:
                assert order["fill"]["amountOut"] == routed["expectedOut"], order
        assert {"raydium", "meteora"} <= venues


async def test_market_flow_sets_how_many_swaps_other_traders_make_a_slot(
        tmp_path: Path) -> None:
    moved = {}
    for flow in (None, 0.0, 50.0):
        async with EngineHarness.start(tmp_path / f"{flow}.db", market_flow=flow) as engine:
            moved[flow] = sum(len(engine.world.trade(1_764_000_000 + n)) for n in range(20))
    assert moved[0.0] == 0 < moved[None] < moved[50.0]

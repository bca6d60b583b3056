"""Routes through SOL or USDC: when no pool trades a pair, or when two hops net more."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from engine.domain.routing import pivot_floor
from engine.domain.tokens import lookup
from engine.testing import EngineHarness


def mint(symbol: str) -> str:
    token = lookup(symbol)
    assert token is not None
    return token.mint


def balance(engine: EngineHarness, symbol: str) -> int:
    return engine.world.chain.wallet.balances.get(mint(symbol), 0)


def atoms(symbol: str, amount: str) -> int:
    token = lookup(symbol)
    assert token is not None
    return token.to_atoms(Decimal(amount))


async def test_bonk_to_usdc_confirms_through_sol_and_the_wallet_moves_by_the_fill(
        order_engine: EngineHarness) -> None:
    await bonk_to_usdc_through_sol(order_engine)


async def test_on_the_programs_the_hop_through_sol_moves_the_wallet_alike(
        tmp_path: Path, programs: Path) -> None:
    """The same order run by the programs' bytecode: the same fill, the same margin kept."""
    async with EngineHarness.start(tmp_path / "e.db", programs=str(programs)) as engine:
        await bonk_to_usdc_through_sol(engine)


async def bonk_to_usdc_through_sol(order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    before = {s: balance(order_engine, s) for s in ("BONK", "USDC", "SOL")}
    order_id = await order_engine.submit(tokenIn="BONK", tokenOut="USDC", amount=50_000_000,
                                         slippage=0.02)
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed", final
    routed = next(e for e in await order_engine.history(order_id) if e["status"] == "routing")
    legs = routed["route"]["legs"]
    assert routed["route"]["via"] == mint("SOL")
    assert (legs[0]["inputMint"], legs[0]["outputMint"]) == (mint("BONK"), mint("SOL"))
    assert (legs[-1]["inputMint"], legs[-1]["outputMint"]) == (mint("SOL"), mint("USDC"))
    assert balance(order_engine, "BONK") == before["BONK"] - atoms("BONK", final["amountIn"])
    assert balance(order_engine, "USDC") == before["USDC"] + atoms("USDC", final["amountOut"])
    # SOL pays the network fee (and any token account rent) and keeps what the first hop
    # delivered beyond what the second spends (a swap program spends a fixed amount): the
    # first hop's margin, exactly, in a market that holds still.
    kept = int(legs[0]["outAmount"]) - int(legs[-1]["inAmount"])
    assert kept == int(legs[0]["outAmount"]) - pivot_floor(int(legs[0]["outAmount"])) > 0
    assert balance(order_engine, "SOL") - before["SOL"] == (
        kept - final["networkFeeLamports"] - final["ataRentLamports"])
    assert len(order_engine.world.chain.history.landed_for(order_id)) == 1


async def test_usdc_to_jup_confirms_through_sol(order_engine: EngineHarness) -> None:
    before = balance(order_engine, "JUP")
    final = await order_engine.wait_terminal(
        await order_engine.submit(tokenIn="USDC", tokenOut="JUP", amount=100, slippage=0.02))
    assert final["status"] == "confirmed"
    assert balance(order_engine, "JUP") == before + atoms("JUP", final["amountOut"])


async def test_two_hops_are_chosen_when_they_net_more_than_the_direct_pool(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    for pool in ("ray-sol-usdt", "met-sol-usdt"):  # SOL 4 % cheaper against USDT, directly
        order_engine.world.move_price(pool, 0.96)
    assert order_engine.http is not None
    async with order_engine.http.get("/api/quotes", params={
            "inputMint": "SOL", "outputMint": "USDT", "amount": str(10**9)}) as resp:
        quote = await resp.json()
    assert resp.status == 200 and "through USDC" in quote["reason"]
    assert [leg["swapInfo"]["outputMint"] for leg in quote["routePlan"]][-1] == mint("USDT")
    direct = max(int(q["outAmount"]) for q in quote["alternatives"])
    assert int(quote["outAmount"]) > direct
    final = await order_engine.wait_terminal(
        await order_engine.submit(tokenIn="SOL", tokenOut="USDT", amount=1, slippage=0.02))
    assert final["status"] == "confirmed" and Decimal(final["amountOut"]) * 10**6 > direct


async def test_a_multi_hop_fill_below_the_floor_fails_the_whole_transaction(
        order_engine: EngineHarness) -> None:
    order_engine.world.faults.force_slippage()
    usdc = balance(order_engine, "USDC")
    final = await order_engine.wait_terminal(
        await order_engine.submit(tokenIn="BONK", tokenOut="USDC", amount=1_000_000))
    assert final["status"] == "failed" and final["error"]["code"] == "SLIPPAGE_EXCEEDED"
    assert balance(order_engine, "USDC") == usdc  # neither hop happened


async def test_a_waiting_order_on_a_two_hop_pair_wakes_when_a_pool_of_its_route_moves(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    assert order_engine.http is not None
    async with order_engine.http.get("/api/quotes", params={
            "inputMint": "BONK", "outputMint": "USDC", "amount": str(atoms("BONK", "1000000"))}) \
            as resp:
        now = Decimal((await resp.json())["outAmount"]) / 10**6 / 1_000_000  # USDC per BONK
    order_id = await order_engine.submit(orderType="limit", tokenIn="BONK", tokenOut="USDC",
                                         amount=1_000_000, limitPrice=str(now * Decimal("1.03")))
    await order_engine.wait_for_status(order_id, "waiting")
    for pool in ("met-sol-usdc", "ray-sol-usdc"):  # SOL 5 % dearer in USDC: BONK too, via SOL
        order_engine.world.move_price(pool, 1.05)
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "confirmed"

"""Execution against the simulated chain: splits, stale quotes, expiry, funds, and the ledger."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from cluster_clients import chain_adapter
from conftest import all_in, run_until

from engine.clock import SystemClock
from engine.domain.errors import BlockhashNotFound
from engine.domain.tokens import ATA_RENT_LAMPORTS, WSOL_MINT, lookup
from engine.domain.transactions import Memo, SignedTransaction, SwapInstruction
from engine.simulator.dex import Pool
from engine.simulator.genesis import open_world
from engine.simulator.world import SimWorld
from engine.solana_client.chain import RpcChain
from engine.testing import EngineHarness
from engine.testing.cluster import wallet_for

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def balance(engine: EngineHarness, mint: str) -> int:
    return engine.world.chain.wallet.balances.get(mint, 0)


async def test_a_large_order_is_split_across_both_venues_in_one_transaction(
        order_engine: EngineHarness) -> None:
    order_engine.world.hold_prices()
    events = await order_engine.history(await order_engine.submit(
        tokenIn="SOL", tokenOut="USDC", amount=5000, slippage=0.05))
    routing, building, confirmed = events[1], events[2], events[-1]
    assert {leg["venue"] for leg in routing["route"]["legs"]} == {"raydium", "meteora"}
    assert sum(leg["percent"] for leg in routing["route"]["legs"]) == 100
    assert routing["reason"].startswith("split")
    assert [s for s in building["instructions"] if ".swap(" in s] == [
        f"{leg['venue']}.swap({leg['pool']})" for leg in routing["route"]["legs"]]
    assert confirmed["status"] == "confirmed" and confirmed["amountIn"] == "5000"


async def test_a_quote_gone_stale_before_landing_fails_on_slippage_without_retry(
        slow_engine: EngineHarness) -> None:
    slow_engine.world.hold_prices()
    order_id = await slow_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=2, slippage=0.01)
    await run_until(slow_engine, all_in(slow_engine, [order_id], {"submitted"}))
    pool = (await slow_engine.order(order_id))["route"]["legs"][0]["pool"]
    slow_engine.world.move_price(pool, 0.97)  # SOL falls 3 % while the transaction is in flight
    await run_until(slow_engine, all_in(slow_engine, [order_id], {"confirmed", "failed"}))
    record = await slow_engine.order(order_id)
    assert record["status"] == "failed" and record["attempts"] == 1
    assert record["error"]["code"] == "SLIPPAGE_EXCEEDED"
    assert "0x1e" in record["error"]["message"] or "0x1773" in record["error"]["message"]


async def test_a_dropped_transaction_is_resigned_only_after_its_blockhash_expired(
        order_engine: EngineHarness) -> None:
    order_engine.world.faults.drop(attempt=1)
    order_id = await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
    events = await order_engine.history(order_id)
    first, second = events[2], events[4]
    assert (first["status"], second["status"]) == ("building", "building")
    assert second["attempt"] == 2 and second["txHash"] != first["txHash"]
    assert order_engine.world.chain.block_height > first["lastValidBlockHeight"]
    assert second["lastValidBlockHeight"] > first["lastValidBlockHeight"]
    assert events[-1]["status"] == "confirmed"
    assert [t.signature for t in order_engine.world.chain.history.landed_for(order_id)] == [
        second["txHash"]]


async def test_an_order_the_wallet_cannot_pay_fails_at_once_with_insufficient_funds(
        order_engine: EngineHarness) -> None:
    order_engine.world.chain.wallet.balances[USDC] = 10 * 10**6
    order_id = await order_engine.submit(tokenIn="USDC", tokenOut="SOL", amount=100)
    final = await order_engine.wait_terminal(order_id)
    assert final["status"] == "failed" and final["attempt"] == 1
    assert final["error"]["code"] == "INSUFFICIENT_FUNDS"
    assert final["error"]["message"].startswith(
        "the wallet holds 10 USDC; the order spends 100 USDC (")  # then the node's words
    assert order_engine.world.chain.history.landed_for(order_id) == []
    assert balance(order_engine, USDC) == 10 * 10**6


async def test_an_exact_out_the_wallet_cannot_pay_says_the_most_it_would_spend(
        order_engine: EngineHarness) -> None:
    order_engine.world.chain.wallet.balances[USDC] = 10 * 10**6
    final = await order_engine.wait_terminal(await order_engine.submit(
        tokenIn="USDC", tokenOut="SOL", amount=1, swapMode="ExactOut", slippage=0.01))
    assert final["error"]["code"] == "INSUFFICIENT_FUNDS"
    spends = Decimal(final["error"]["message"].split("spends up to ")[1].split(" USDC")[0])
    assert final["error"]["message"].startswith("the wallet holds 10 USDC; the order spends up to")
    assert 140 < spends < 160  # a SOL's price, and 1 % of slippage above it


async def test_a_wallet_without_sol_for_the_fee_is_told_so(order_engine: EngineHarness) -> None:
    order_engine.world.chain.wallet.balances[WSOL_MINT] = 1_000  # lamports
    final = await order_engine.wait_terminal(await order_engine.submit(
        tokenIn="USDC", tokenOut="SOL", amount=100))
    assert final["error"]["code"] == "INSUFFICIENT_FUNDS"
    assert final["error"]["message"].startswith(
        "the wallet's 0.000001 SOL do not cover the network fee and the token accounts' rent (")


async def test_an_amount_beyond_all_liquidity_fails_with_no_route(
        order_engine: EngineHarness) -> None:
    final = await order_engine.wait_terminal(await order_engine.submit(
        tokenIn="SOL", tokenOut="USDC", amount=900_000_000))
    assert final["status"] == "failed" and final["error"]["code"] == "NO_ROUTE"
    assert "too large for the available liquidity" in final["error"]["message"]


async def test_an_amount_every_pool_pays_nothing_for_fails_as_too_small(
        order_engine: EngineHarness) -> None:
    final = await order_engine.wait_terminal(await order_engine.submit(
        tokenIn="SOL", tokenOut="USDC", amount="0.000000001"))  # a lamport: no USDC atom
    assert final["status"] == "failed" and final["error"]["code"] == "NO_ROUTE"
    assert "too small: every pool pays nothing" in final["error"]["message"]


async def test_a_pair_with_no_path_at_all_is_refused_at_submission(
        order_engine: EngineHarness) -> None:
    # RAY trades only against USDC, BONK only against SOL: not even two hops connect them.
    status, body = await order_engine.post_order(
        {"orderType": "market", "tokenIn": "RAY", "tokenOut": "BONK", "amount": 1000})
    assert status == 422 and body["error"]["code"] == "NO_ROUTE"


async def test_a_confirmed_swap_moves_the_wallet_and_pays_the_network_fee(
        order_engine: EngineHarness) -> None:
    sol_before, usdc_before = balance(order_engine, WSOL_MINT), balance(order_engine, USDC)
    final = await order_engine.wait_terminal(await order_engine.submit(
        tokenIn="SOL", tokenOut="USDC", amount=3))
    fee = final["networkFeeLamports"]  # one signature, and the priority fee it bid
    assert 5_000 < fee < 5_000 + 2_000_000 * 1_400_000 // 10**6
    assert balance(order_engine, WSOL_MINT) == sol_before - 3 * 10**9 - fee
    assert balance(order_engine, USDC) == usdc_before + int(float(final["amountOut"]) * 10**6)
    assert order_engine.http is not None
    async with order_engine.http.get("/api/wallet") as resp:
        sol = next(b for b in (await resp.json())["balances"] if b["symbol"] == "SOL")
    assert int(sol["atoms"]) == balance(order_engine, WSOL_MINT)


async def test_buying_a_token_for_the_first_time_pays_its_account_rent(
        order_engine: EngineHarness) -> None:
    bonk = lookup("BONK")
    assert bonk is not None
    order_engine.world.chain.wallet.accounts.discard(bonk.mint)
    final = await order_engine.wait_terminal(await order_engine.submit(
        tokenIn="SOL", tokenOut="BONK", amount=1))
    assert final["ataRentLamports"] == ATA_RENT_LAMPORTS
    again = await order_engine.wait_terminal(await order_engine.submit(
        tokenIn="SOL", tokenOut="BONK", amount=1))
    assert again["ataRentLamports"] == 0


async def test_quotes_answer_in_the_aggregator_shape(order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    params = {"inputMint": WSOL_MINT, "outputMint": USDC, "amount": str(10**9),
              "slippageBps": "100"}
    async with order_engine.http.get("/api/quotes", params=params) as resp:
        quote = await resp.json()
    assert quote["inAmount"] == str(10**9)
    assert int(quote["otherAmountThreshold"]) == int(quote["outAmount"]) * 9_900 // 10_000
    leg = quote["routePlan"][0]
    assert leg["percent"] == 100 and leg["swapInfo"]["label"] in ("Raydium", "Meteora DLMM")
    assert {"priceImpactPct", "contextSlot", "swapMode"} <= set(quote)


async def test_the_token_list_gives_the_decimals_a_quote_counts_atoms_in(
        order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    async with order_engine.http.get("/api/tokens") as resp:
        tokens = {t["symbol"]: t for t in (await resp.json())["tokens"]}
    assert resp.status == 200 and tokens["SOL"] == {"symbol": "SOL", "mint": WSOL_MINT,
                                                     "decimals": 9}
    assert set(tokens) == {"SOL", "USDC", "USDT", "BONK", "JUP", "WIF", "RAY"}
    async with order_engine.http.get("/api/wallet") as resp:  # as the chain's mints declare
        held = {b["symbol"]: b["decimals"] for b in (await resp.json())["balances"]}
    assert all(held[s] == t["decimals"] for s, t in tokens.items() if s in held)


async def test_a_tiny_amount_is_quoted_for_the_atoms_it_pays_without_impact(
        order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    params = {"inputMint": "BONK", "outputMint": USDC, "amount": "10000"}  # 0.1 BONK, $0.000002
    async with order_engine.http.get("/api/quotes", params=params) as resp:
        quote = await resp.json()
    assert resp.status == 200, quote  # not "too large for the available liquidity"
    assert int(quote["outAmount"]) >= 1 and Decimal(quote["priceImpactPct"]) < 1


async def test_bad_quote_requests_are_4xx(order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    cases = [({"outputMint": USDC, "amount": "1"}, 400, "MISSING_PARAMETER"),
             ({"inputMint": "SOL", "outputMint": USDC, "amount": "-5"}, 400, "INVALID_PARAMETER"),
             ({"inputMint": "SOL", "outputMint": USDC, "amount": "1", "slippageBps": "9999"},
              400, "INVALID_PARAMETER"),
             ({"inputMint": "DOGE", "outputMint": USDC, "amount": "1"}, 422, "UNKNOWN_TOKEN"),
             ({"inputMint": "BONK", "outputMint": "JUP", "amount": "1"}, 422, "NO_ROUTE")]
    for params, status, code in cases:
        async with order_engine.http.get("/api/quotes", params=params) as resp:
            assert (resp.status, (await resp.json())["error"]["code"]) == (status, code), params


async def test_a_quote_asked_with_an_orders_names_is_told_the_names_it_takes(
        order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    async with order_engine.http.get("/api/quotes", params={
            "tokenIn": "SOL", "tokenOut": "USDC", "amount": "1"}) as resp:
        error = (await resp.json())["error"]
    assert resp.status == 400 and error["code"] == "MISSING_PARAMETER"
    assert error["message"] == ("inputMint is required (this endpoint takes Jupiter's "
                                "parameters: inputMint, outputMint, and amount in atoms)")


async def test_every_confirmed_order_landed_exactly_once_and_every_failed_one_never(
        tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", failure_rate=0.3, seed=11) as engine:
        pairs = [("SOL", "USDC"), ("USDC", "SOL"), ("SOL", "BONK"), ("JUP", "SOL"),
                 ("USDC", "USDT"), ("SOL", "USDT")]
        ids = await asyncio.gather(*(engine.submit(tokenIn=a, tokenOut=b, amount=1, slippage=0.02)
                                     for a, b in pairs * 25))
        finals = await asyncio.gather(*(engine.wait_terminal(i, limit=60) for i in ids))
    executed = {i: [t for t in engine.world.chain.history.landed_for(i) if t.err is None] for i in ids}
    for order_id, final in zip(ids, finals, strict=True):
        assert len(executed[order_id]) == (1 if final["status"] == "confirmed" else 0), final
    assert sum(f["status"] == "confirmed" for f in finals) > 100


def client(world: SimWorld, tmp_path: Path) -> RpcChain:
    """The engine's side of the chain, over JSON-RPC to this world's cluster, in process."""
    return chain_adapter(world, tmp_path / "wallet.json")


async def test_a_landing_is_reported_only_once_the_chain_record_holds_it(tmp_path: Path) -> None:
    path = str(tmp_path / "chain.db")
    world = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0, chain_db=path,
                       funded=wallet_for(tmp_path / "wallet.json"))
    chain = client(world, tmp_path)
    pool = next(p for p in world.raydium.pools.values() if set(p.mints) == {WSOL_MINT, USDC})
    ix = SwapInstruction("raydium", pool.id, WSOL_MINT, USDC, 10**9, 1)
    tx = await chain.sign([ix], await chain.latest_blockhash(), memo=Memo("o-1", 1))
    await chain.send(tx)
    landed = await chain.confirm(tx)
    assert landed is not None and landed.err is None
    on_disk = sqlite3.connect(path).execute("SELECT memo FROM ledger").fetchall()
    assert on_disk == [("order:o-1:1",)]  # read by another connection, as after a crash
    await world.chain.close()
    again = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0, chain_db=path,
                       funded=wallet_for(tmp_path / "wallet.json"))
    assert await client(again, tmp_path).signature_status(tx.signature) == landed
    assert again.chain.wallet.state() == world.chain.wallet.state()
    await again.chain.close()


def recorded_world(tmp_path: Path) -> tuple[SimWorld, RpcChain, Pool]:
    """A zero-latency world with a chain record, the engine's chain adapter on it, and its
    Raydium SOL/USDC pool."""
    world = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                       chain_db=str(tmp_path / "chain.db"),
                       funded=wallet_for(tmp_path / "wallet.json"))
    pool = next(p for p in world.raydium.pools.values() if set(p.mints) == {WSOL_MINT, USDC})
    return world, client(world, tmp_path), pool


async def test_with_a_record_the_chain_keeps_only_unexpired_landings_in_memory(
        tmp_path: Path) -> None:
    world, chain, pool = recorded_world(tmp_path)
    first = None
    # At zero latency each landing in a turn of its own is a block: 150 of them expire a hash.
    for n in range(400):
        ix = SwapInstruction("raydium", pool.id, WSOL_MINT, USDC, 10**7, 1)
        tx = await chain.sign([ix], await chain.latest_blockhash(), memo=Memo(f"o-{n}", 1))
        await chain.send(tx)
        assert await chain.confirm(tx) is not None
        first = first or tx
    assert first is not None
    assert len(world.chain.history.ledger) <= 152
    old = await chain.signature_status(first.signature)  # read back from the record
    assert old is not None and old.amount_in == 10**7 and old.err is None
    assert [t.memo for t in world.chain.history.landed_for("o-0")] == ["order:o-0:1"]
    with pytest.raises(BlockhashNotFound):  # a rebroadcast of an old landing is refused
        await chain.send(first)
    assert len(world.chain.history.landed_for("o-0")) == 1
    await world.chain.close()


async def test_with_no_time_passing_what_lands_in_one_turn_shares_a_block(
        tmp_path: Path) -> None:
    world, chain, pool = recorded_world(tmp_path)

    async def signed(order_id: str) -> SignedTransaction:
        ix = SwapInstruction("raydium", pool.id, WSOL_MINT, USDC, 10**8, 1)
        return await chain.sign([ix], await chain.latest_blockhash(), memo=Memo(order_id, 1))

    together = [await signed("o-1"), await signed("o-2")]
    for tx in together:  # sent in one turn: both land in the next
        await chain.send(tx)
    first, second = [await chain.confirm(tx) for tx in together]
    later = await signed("o-3")
    await chain.send(later)
    third = await chain.confirm(later)
    assert first is not None and second is not None and third is not None
    assert first.slot == second.slot and third.slot == first.slot + 1
    assert world.chain.transaction_count == 3
    await world.chain.close()


async def test_a_scripted_price_move_is_in_the_record(tmp_path: Path) -> None:
    world, _, pool = recorded_world(tmp_path)
    world.move_price(pool.id, 1.05)
    await world.chain.close()
    again = open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
                       chain_db=str(tmp_path / "chain.db"),
                       funded=wallet_for(tmp_path / "wallet.json"))
    assert again.pool(pool.id).state() == pool.state()  # moved, with no landing since
    await again.chain.close()

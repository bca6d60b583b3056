"""Orders survive restarts, resume where they stopped, and never run more than `workers` at once."""

from __future__ import annotations

from pathlib import Path

from conftest import all_in, run_until

from engine.testing import EngineHarness

ORDER = {"tokenIn": "SOL", "tokenOut": "USDC", "amount": 2}
TERMINAL = {"confirmed", "failed"}


async def test_orders_are_still_there_after_a_restart(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "engine.db") as engine:
        order_id = await engine.submit(**ORDER)
        before = await engine.history(order_id)
        await engine.restart()
        record = await engine.order(order_id)
        assert record["status"] == "confirmed"
        assert record["events"] == before


async def test_never_more_orders_execute_than_workers(slow_engine: EngineHarness) -> None:
    ids = [await slow_engine.submit(**ORDER) for _ in range(9)]
    await run_until(slow_engine, all_in(slow_engine, ids, TERMINAL))
    assert slow_engine.engine.operations.health().peak_in_flight == 3  # workers=3: saturated, never exceeded
    assert {(await slow_engine.order(i))["status"] for i in ids} == {"confirmed"}


async def test_an_order_caught_mid_flight_by_a_crash_resumes_and_lands_once(
        slow_engine: EngineHarness) -> None:
    order_id = await slow_engine.submit(**ORDER)
    await run_until(slow_engine, all_in(slow_engine, [order_id], {"submitted"}))
    await slow_engine.restart()  # the workers die; the chain still holds the sent transaction
    await run_until(slow_engine, all_in(slow_engine, [order_id], TERMINAL))
    record = await slow_engine.order(order_id)
    assert record["status"] == "confirmed"
    assert len(slow_engine.world.chain.history.landed_for(order_id)) == 1
    assert [e["seq"] for e in record["events"]] == list(range(1, len(record["events"]) + 1))
    assert [e.get("resumed") for e in record["events"]].count(True) == 1  # the marker, once


async def test_queued_orders_left_pending_by_a_crash_are_executed_after_restart(
        slow_engine: EngineHarness) -> None:
    ids = [await slow_engine.submit(**ORDER) for _ in range(6)]  # 3 workers: 3 stay pending
    await slow_engine.restart()
    await run_until(slow_engine, all_in(slow_engine, ids, TERMINAL))
    for order_id in ids:
        assert len(slow_engine.world.chain.history.landed_for(order_id)) == 1

"""The terminal client, against a live engine: output and exit codes scripts can use."""

from __future__ import annotations

import asyncio

import pytest

from engine import cli
from engine.testing import EngineHarness


async def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = await asyncio.to_thread(cli.main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def test_submit_follows_the_order_and_exits_0_when_confirmed(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run(capsys, "submit", "SOL", "USDC", "1", "--url", order_engine.url)
    assert code == 0
    assert [line.split()[2] for line in out.splitlines()] == [
        "pending", "routing", "building", "submitted", "confirmed"]


async def test_submit_exits_1_when_the_order_does_not_fill(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    order_engine.world.faults.force_slippage()
    code, out, _ = await run(capsys, "submit", "SOL", "USDC", "1", "--url", order_engine.url)
    assert code == 1 and "SLIPPAGE_EXCEEDED" in out


async def test_a_refused_order_exits_2_with_the_reason(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = await run(capsys, "submit", "SOL", "DOGE", "1", "--url", order_engine.url)
    assert code == 2 and "UNKNOWN_TOKEN" in err


async def test_no_engine_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = await run(capsys, "orders", "--url", "http://127.0.0.1:9")
    assert code == 3 and "no engine" in err


async def test_orders_prints_a_table_and_watch_replays_a_stream(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    order_id = await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
    await order_engine.wait_terminal(order_id)
    code, out, _ = await run(capsys, "orders", "--url", order_engine.url)
    assert code == 0 and order_id in out and "confirmed" in out
    code, out, _ = await run(capsys, "watch", order_id, "--url", order_engine.url)
    assert code == 0 and out.splitlines()[-1].split()[2] == "confirmed"

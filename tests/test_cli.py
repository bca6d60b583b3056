"""The terminal client, against a live engine: output and exit codes scripts can use."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from fake_servers import one_order_engine, serving

from engine.commands import arguments, cli
from engine.commands.demo import why_no_launch
from engine.commands.orders_text import amounts, describe
from engine.domain.status import OrderStatus
from engine.testing import EngineHarness, ManualClock


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


async def test_submit_bids_the_priority_fee_it_is_given(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run(capsys, "submit", "SOL", "USDC", "1", "--priority-fee", "250000",
                             "--detach", "--url", order_engine.url)
    assert code == 0
    assert (await order_engine.wait_terminal(out.strip()))["status"] == "confirmed"
    order = await order_engine.order(out.strip())
    assert order["priorityFee"] == 250000
    [landed] = order_engine.world.chain.history.landed_for(order["orderId"])
    # The base fee, and the bid on at least the 50,000 units every limit asks
    assert landed.fee_lamports >= 5_000 + 250_000 * 50_000 // 10**6
    code, _, err = await run(capsys, "submit", "SOL", "USDC", "1", "--priority-fee", "soon",
                             "--url", order_engine.url)
    assert code == 2 and "INVALID_PRIORITY_FEE" in err


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


LIMIT = ("--type", "limit", "--limit-price", "100000")


async def test_submit_detach_prints_the_id_and_cancel_takes_its_prefix(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    url = ("--url", order_engine.url)
    code, out, _ = await run(capsys, "submit", "SOL", "USDC", "1", *LIMIT, "--detach", *url)
    order_id = out.strip()
    assert code == 0 and len(order_id) == 36
    code, out, _ = await run(capsys, "cancel", order_id[:8], *url)
    assert code == 0 and order_id in out
    assert (await order_engine.order(order_id))["status"] == "cancelled"
    code, _, err = await run(capsys, "cancel", order_id[:8], *url)
    assert code == 2 and "not cancelled" in err


async def test_watch_takes_the_prefix_submit_printed(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    order_id = await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
    await order_engine.wait_terminal(order_id)
    code, out, _ = await run(capsys, "watch", order_id[:8], "--url", order_engine.url)
    assert code == 0 and out.splitlines()[-1].split()[2] == "confirmed"
    code, _, err = await run(capsys, "watch", "zzzz", "--url", order_engine.url)
    assert code == 2 and "no order starts with 'zzzz'" in err


async def test_cancel_all_waiting_cancels_every_waiting_order(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    ids = [await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1,
                                     orderType="limit", limitPrice=100_000) for _ in range(3)]
    for order_id in ids:
        await order_engine.wait_for_status(order_id, "waiting")
    code, out, _ = await run(capsys, "cancel", "--all-waiting", "--url", order_engine.url)
    assert code == 0 and "cancelled 3 waiting orders" in out
    assert {(await order_engine.order(i))["status"] for i in ids} == {"cancelled"}


def test_a_slice_whose_child_failed_is_a_line_that_says_why() -> None:
    line = describe({"status": "waiting", "slice": 1, "childStatus": "failed",
                     "childError": {"code": "NO_ROUTE", "message": "the amount is too small"},
                     "filled": "0", "remaining": "1"})
    assert line == "slice 1 failed (NO_ROUTE: the amount is too small); sold 0, 1 left"


def test_a_cancelled_twap_says_what_it_sold_and_which_slice_still_runs() -> None:
    pending = {"status": "pending", "tokenIn": "SOL", "tokenOut": "USDC"}
    cancelled = {"status": "cancelled", "reason": "cancelled by the trader", "filled": "1",
                 "received": "146.194658", "remaining": "2", "children": ["3eebbc3d-a7"]}
    assert describe(cancelled, pending) == (
        "cancelled by the trader; sold 1 SOL for 146.194658 USDC, 2 left")
    assert describe({**cancelled, "openChildId": "8c0ffee1-b2"}, pending).endswith(
        "2 left (slice 8c0ffee1 still finishing as its own order)")
    assert describe({"status": "cancelled", "reason": "cancelled by the trader"}) == (
        "cancelled by the trader")


def test_an_attempt_after_a_failed_one_says_what_failed() -> None:
    again = {"status": "building", "attempt": 2, "txHash": "YHwYV1R5tfqfu6AGSw5rnXW3",
             "previousError": {"code": "RATE_LIMITED", "message": "Too many requests"}}
    assert describe(again) == ("attempt 2 (after RATE_LIMITED: Too many requests) "
                               "tx YHwYV1R5tfqfu6AG...")
    first = {key: value for key, value in again.items() if key != "previousError"}
    assert describe({**first, "attempt": 1}) == "attempt 1 tx YHwYV1R5tfqfu6AG..."


def test_waiting_events_say_what_they_wait_for() -> None:
    trailing = {"status": "waiting", "highWaterMark": "151.2", "triggerPrice": "143.64"}
    assert describe(trailing) == "best price 151.2, now triggers at 143.64"
    assert "None" not in describe({"status": "waiting"})


def test_a_running_twap_shows_what_it_sold_out_of_how_much() -> None:
    running = {"status": "waiting", "amount": "10", "filled": "3", "received": "449.7"}
    assert amounts(running) == ("3 of 10", "449.7")
    assert amounts({**running, "status": "cancelled"}) == ("3", "449.7")  # what it came to


async def test_the_orders_table_shows_a_twaps_fill_and_keeps_its_columns(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    order_id = await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1,
                                         orderType="trailing_stop", trail=0.2)
    twap = await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1,
                                     orderType="twap", slices=2, intervalSeconds=1)
    assert (await order_engine.wait_terminal(twap))["status"] == "confirmed"
    received = (await order_engine.order(twap))["received"]
    code, out, _ = await run(capsys, "orders", "--url", order_engine.url)
    header, row = out.splitlines()[0], next(r for r in out.splitlines() if order_id in r)
    assert code == 0 and row.index("waiting") == header.index("status")
    twap_row = next(r for r in out.splitlines() if r.startswith(twap))
    assert twap_row.split()[-4:] == ["1", "SOL", received, "USDC"]
    assert row.split()[-4:] == ["1", "SOL", "?", "USDC"]  # the market decides what it gets
    slices = [r for r in out.splitlines() if "twap slice" in r]  # not orders of their own
    assert len(slices) == 2 and all(r.index("twap slice") == header.index("type") for r in slices)


async def test_the_orders_table_shows_each_side_in_its_token_exact_out_included(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    order_id = await order_engine.submit(tokenIn="USDC", tokenOut="SOL", amount=2,
                                         swapMode="ExactOut")
    await order_engine.wait_terminal(order_id)
    fill = (await order_engine.order(order_id))["fill"]
    code, out, _ = await run(capsys, "orders", "--url", order_engine.url)
    row = next(r for r in out.splitlines() if r.startswith(order_id))
    assert code == 0 and row.split()[-4:] == [fill["amountIn"], "USDC", "2", "SOL"]


async def test_a_followed_order_shows_every_amount_with_its_token(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run(capsys, "submit", "USDC", "SOL", "2", "--exact-out",
                             "--url", order_engine.url)
    lines = [line.split(maxsplit=3)[3] for line in out.splitlines()]
    assert code == 0 and lines[0] == "market USDC -> 2 SOL (exact out)"
    assert lines[1].endswith(" USDC in") and "at most" in lines[1]
    assert order_engine.http is not None
    async with order_engine.http.get("/api/orders", params={"limit": "1"}) as resp:
        [order] = (await resp.json())["orders"]
    fill = order["fill"]
    assert lines[-1].startswith(f"filled {fill['amountIn']} USDC -> 2 SOL at "
                                f"{fill['executedPrice']} SOL per USDC on {fill['venue']}")


async def test_ctrl_c_stops_following_in_one_line_and_the_order_keeps_waiting(
        order_engine: EngineHarness) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine", "submit", "SOL", "USDC", "1", *LIMIT,
        "--url", order_engine.url, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    lines = [await asyncio.wait_for(proc.stdout.readline(), 15) for _ in range(2)]
    assert b"waiting" in lines[-1]
    order_id = lines[0].split()[1].decode()
    proc.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 130
    text = err.decode().strip()
    assert "Traceback" not in text and len(text.splitlines()) == 1
    assert f"python -m engine cancel {order_id}" in text
    order = await order_engine.order(
        next(o for o in await _ids(order_engine) if o.startswith(order_id)))
    assert order["status"] == "waiting"


async def _ids(engine: EngineHarness) -> list[str]:
    assert engine.http is not None
    async with engine.http.get("/api/orders") as resp:
        return [o["orderId"] for o in (await resp.json())["orders"]]


@pytest.mark.parametrize("command", [("orders",), ("wallet",), ("quote", "SOL", "USDC", "1")])
async def test_a_reader_that_stops_early_ends_the_command_quietly_with_141(
        order_engine: EngineHarness, command: tuple[str, ...]) -> None:
    """`orders | head`: head exits before the table is written; as with `ls | head`, the
    command ends with 128 + SIGPIPE and no traceback."""
    await order_engine.wait_terminal(
        await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1))
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before a line is written
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine", *command, "--url", order_engine.url,
        stdout=write_end, stderr=asyncio.subprocess.PIPE)
    os.close(write_end)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 141
    assert err.decode() == ""


def test_orders_offers_every_status_the_engine_has_and_no_other() -> None:
    assert set(arguments.STATUSES) == {status.value for status in OrderStatus}


def test_help_lists_the_commands() -> None:
    done = subprocess.run([sys.executable, "-m", "engine", "--help"], capture_output=True,
                          text=True, timeout=30, check=False)
    assert done.returncode == 0
    for command in ("submit", "watch", "cancel", "orders", "quote", "wallet", "demo", "keys",
                    "cluster", "--port"):
        assert command in done.stdout
    flat = " ".join(done.stdout.split())  # argparse wraps lines
    assert "default: None" not in flat and "default: ]" not in flat
    assert "[env ENGINE_PORT; default: 8080]" in flat


async def test_the_demo_shows_every_order_type_filling_every_time(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run(capsys, "demo", "--url", order_engine.url)
    assert code == 0, out
    assert "\033[" not in out  # not a terminal: no colour escapes
    lines = [line.split() for line in out.splitlines()]
    confirmed = {words[1] for words in lines if words[1].startswith("#")
                 and words[3] == "confirmed"}
    assert confirmed == {f"#{n}" for n in range(11)}
    assert out.splitlines()[-1].endswith(" s: 11 confirmed")


async def test_without_the_sim_api_the_demo_leaves_the_sniper_out_and_says_why(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with EngineHarness.start(tmp_path / "e.db", sim_api=False) as engine:
        code, out, err = await run(capsys, "demo", "--url", engine.url)
        assert engine.engine.operations.health().waiting == 0  # nothing left behind
    assert code == 0, out
    assert "the sniper is left out" in err and "--sim-api" in err
    lines = [line.split() for line in out.splitlines()]
    confirmed = {words[1] for words in lines if words[1].startswith("#")
                 and words[3] == "confirmed"}
    assert confirmed == {f"#{n}" for n in range(10)} and "sniper" not in out


async def test_watch_replays_an_orders_timing_from_when_it_was_accepted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clock = ManualClock()
    async with EngineHarness.start(tmp_path / "e.db", clock=clock) as engine:
        order_id = await engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1,
                                       orderType="limit", limitPrice="100000")
        await engine.wait_for_status(order_id, "waiting")
        await clock.advance(90)
        await run(capsys, "cancel", order_id, "--url", engine.url)
        code, out, _ = await run(capsys, "watch", order_id, "--url", engine.url)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["0.00s", order_id[:8], "pending"]
    assert lines[-1].split()[:3] == ["90.00s", order_id[:8], "cancelled"]


async def test_every_command_says_how_to_give_a_key_once_the_engine_has_keys(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    admin = await order_engine.create_key("ops", "admin")
    order_engine.use_key(admin)
    order_id = await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
    url = ("--url", order_engine.url)
    for argv in (("watch", order_id[:8]), ("cancel", order_id), ("orders",), ("demo",),
                 ("submit", "SOL", "USDC", "1")):
        code, out, err = await run(capsys, *argv, *url)
        assert code == 2, argv
        assert "refused (401)" in err and "--key KEY or ENGINE_KEY" in err, (argv, err)
        assert "no order starts with" not in err and out == "", argv


async def test_a_key_without_the_scope_is_refused_with_the_engines_reason(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    reader = await order_engine.create_key("dash", "read")
    code, _, err = await run(capsys, "submit", "SOL", "USDC", "1", "--key", reader,
                             "--url", order_engine.url)
    assert code == 2 and "refused (403)" in err and "scope" in err
    code, out, _ = await run(capsys, "orders", "--key", reader, "--url", order_engine.url)
    assert code == 0 and out.startswith("order")


async def test_submit_passes_slippage_as_typed_and_a_bad_one_is_the_engines_refusal(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    url = ("--url", order_engine.url)
    code, out, _ = await run(capsys, "submit", "SOL", "USDC", "1", "--slippage", "0.02",
                             "--detach", *url)
    assert code == 0
    assert (await order_engine.order(out.strip()))["slippage"] == "0.02"
    code, _, err = await run(capsys, "submit", "SOL", "USDC", "1", "--slippage", "abc", *url)
    assert code == 2 and "refused (422): INVALID_NUMBER" in err


async def test_a_refused_field_is_named_by_the_option_that_sets_it(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    url = ("--url", order_engine.url)
    code, _, err = await run(capsys, "submit", "SOL", "USDC", "1", "--type", "limit", *url)
    assert code == 2 and err.strip() == (
        "refused (422): MISSING_FIELD (--limit-price): limitPrice is required")
    code, _, err = await run(capsys, "submit", "SOL", "USDC", "1", "--ttl", "5", *url)
    assert code == 2 and err.startswith("refused (422): UNKNOWN_FIELD (--ttl): unknown field")
    code, _, err = await run(capsys, "submit", "SOL", "USDC", "1", "--type", "twap",
                             "--slices", "1", *url)  # the option is the field's own name
    assert code == 2 and err.startswith("refused (422): INVALID_SLICES: slices must be")


async def test_a_stream_refused_at_its_handshake_says_how_to_give_a_key(
        capsys: pytest.CaptureFixture[str]) -> None:
    # A key revoked between the order's lookup and its stream: the lookup passes, the
    # WebSocket handshake answers 401. An engine that does this on purpose is the shortest way.
    async def refused(_: web.Request) -> web.Response:
        return web.json_response({"error": {"code": "UNAUTHORIZED", "message": "no key"}},
                                 status=401)

    async with serving(one_order_engine(refused)) as url:
        code, out, err = await run(capsys, "watch", "6f0c1a2b", "--url", url)
    assert code == 2 and out == ""
    assert "refused (401): no key" in err
    assert "--key KEY or ENGINE_KEY" in err and "Traceback" not in err


async def test_the_demo_launches_for_its_sniper_only_where_the_key_may_launch(
        order_engine: EngineHarness) -> None:
    admin = await order_engine.create_key("ops", "admin")
    trader = await order_engine.create_key("bot", "trade")

    async def why_not(key: str) -> str | None:
        async with aiohttp.ClientSession(order_engine.url, headers={
                "Authorization": f"Bearer {key}"}) as session:
            return await why_no_launch(session)

    assert await why_not(admin) is None
    assert await why_not(trader) == "which takes an admin key on this engine"


async def test_quote_shows_what_each_venue_would_give_in_the_tokens_units(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    order_engine.world.hold_prices()
    code, out, _ = await run(capsys, "quote", "SOL", "usdc", "1.5", "--url", order_engine.url)
    assert order_engine.http is not None
    async with order_engine.http.get("/api/quotes", params={
            "inputMint": "SOL", "outputMint": "USDC", "amount": "1500000000",
            "slippageBps": "100"}) as resp:
        quote = await resp.json()
    lines = out.splitlines()
    usdc = f"{int(quote['outAmount']) / 10**6:.6f}".rstrip("0")
    assert code == 0 and lines[0].startswith(f"1.5 SOL -> {usdc} USDC: ")
    assert lines[1] == f"route: {quote['reason']}"
    compared = lines[lines.index("quotes compared:") + 1:-1]
    assert sorted(line.split()[0] for line in compared) == ["meteora", "raydium"]
    threshold = f"{int(quote['otherAmountThreshold']) / 10**6:.6f}".rstrip("0")
    assert lines[-1] == f"with 0.01 slippage: at least {threshold} USDC"


async def test_an_exact_out_quote_fixes_what_is_bought_and_bounds_what_is_paid(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run(capsys, "quote", "USDC", "SOL", "2", "--exact-out",
                             "--url", order_engine.url)
    first, last = out.splitlines()[0], out.splitlines()[-1]
    assert code == 0 and " USDC -> 2 SOL: " in first and " SOL per USDC" in first
    assert last.startswith("with 0.01 slippage: at most ") and last.endswith(" USDC in")


@pytest.mark.parametrize("argv,said", [
    (("SOL", "DOGE", "1"), "unknown token 'DOGE'"),
    (("SOL", "USDC", "0.0000000001"), "at most 9 decimals"),
    (("SOL", "USDC", "-1"), "not a positive amount of SOL"),
    (("SOL", "USDC", "one"), "'one' is not a number"),
    (("SOL", "USDC", "1", "--slippage", "0.00001"), "at most 4 decimals"),
    (("SOL", "USDC", "1", "--slippage", "0.9"), "must be a fraction in (0, 0.5]"),
    (("SOL", "USDC", "1", "--slippage", "lots"), "slippage 'lots' must be"),
    (("SOL", "USDC", "100000000"), "refused (422): NO_ROUTE"),
])
async def test_a_quote_that_cannot_be_made_says_why_and_exits_2(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str],
        argv: tuple[str, ...], said: str) -> None:
    code, out, err = await run(capsys, "quote", *argv, "--url", order_engine.url)
    assert code == 2 and out == "" and said in err and "Traceback" not in err


async def test_wallet_lists_the_balances_the_engine_reports(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = await run(capsys, "wallet", "--url", order_engine.url)
    assert order_engine.http is not None
    async with order_engine.http.get("/api/wallet") as resp:
        wallet = await resp.json()
    lines = out.splitlines()
    assert code == 0 and lines[0] == f"wallet {wallet['address']}"
    shown = {line.split()[0]: line.split()[1].replace(",", "") for line in lines[1:]}
    assert shown == {b["symbol"]: b["amount"] for b in wallet["balances"]}


async def test_watch_all_prints_every_order_from_now_on_until_ctrl_c(
        order_engine: EngineHarness) -> None:
    before = await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
    await order_engine.wait_terminal(before)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine", "watch", "--all", "--url", order_engine.url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    await order_engine.wait_until(order_engine.health, lambda h: h.subscribers == 1)
    sold = await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
    bought = await order_engine.submit(tokenIn="USDC", tokenOut="SOL", amount=2,
                                       swapMode="ExactOut")
    lines: list[list[str]] = []
    while sum(line[2] == "confirmed" for line in lines) < 2:
        lines.append((await asyncio.wait_for(proc.stdout.readline(), 15)).decode().split())
    proc.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(proc.communicate(), 15)
    assert proc.returncode == 130 and err.decode().strip() == "stopped"
    assert {line[1] for line in lines} == {sold[:8], bought[:8]}  # not the earlier order
    assert [line[2] for line in lines if line[1] == sold[:8]] == [
        "pending", "routing", "building", "submitted", "confirmed"]
    assert ["market", "USDC", "->", "2", "SOL", "(exact", "out)"] in [
        line[3:] for line in lines if line[1] == bought[:8]]


async def test_watch_wants_an_order_or_all_but_not_both(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (("watch",), ("watch", "6f0c", "--all")):
        code, _, err = await run(capsys, *argv, "--url", order_engine.url)
        assert code == 2 and "give an order id (or a prefix of one), or --all" in err


async def test_the_orders_table_says_when_each_order_was_created_in_local_time(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    order_id = await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
    created = datetime.fromisoformat((await order_engine.order(order_id))["createdAt"])
    code, out, _ = await run(capsys, "orders", "--url", order_engine.url)
    header, row = out.splitlines()[0], next(r for r in out.splitlines() if order_id in r)
    start = header.index("created")
    assert code == 0 and row[start:start + 8] == f"{created.astimezone():%H:%M:%S}"


async def test_quote_takes_a_launched_token_by_its_mint(
        order_engine: EngineHarness, capsys: pytest.CaptureFixture[str]) -> None:
    assert order_engine.http is not None
    async with order_engine.http.post("/api/sim/launch", json={
            "venue": "raydium", "price": 0.000001, "liquidity": 85}) as resp:
        mint = (await resp.json())["mint"]
    code, out, _ = await run(capsys, "quote", "SOL", mint, "1", "--url", order_engine.url)
    first = out.splitlines()[0]
    assert code == 0 and first.startswith("1 SOL -> ") and f"{mint[:4]}…{mint[-4:]} per SOL" in first

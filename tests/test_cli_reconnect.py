"""A terminal following orders outlives a restart of the engine: it reads on where it stopped,
each event once, and says so; an engine that does not come back ends it with exit 3."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp import WSCloseCode, web
from fake_servers import one_order_engine, serving

from engine.testing import EngineHarness
from engine.testing.process import EngineProcess

ARGS = ("--latency-scale", "0", "--failure-rate", "0", "--seed", "3")
FAR = {"orderType": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1,
       "limitPrice": 100_000}  # waits until cancelled


@pytest_asyncio.fixture
async def engine(tmp_path: Path) -> AsyncIterator[EngineProcess]:
    engine = EngineProcess(tmp_path / "e.db", *ARGS, "--shutdown-grace", "1")
    await engine.start()
    yield engine
    if engine.proc is not None and engine.proc.poll() is None:
        await engine.terminate()


async def call(engine: EngineProcess, method: str, path: str, **body: object) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.request(
            method, engine.url + path, json=body or None) as resp:
        return dict(await resp.json())


async def cli(engine: EngineProcess, *argv: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine", *argv, "--url", engine.url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def line(proc: asyncio.subprocess.Process) -> list[str]:
    assert proc.stdout is not None
    return (await asyncio.wait_for(proc.stdout.readline(), 20)).decode().split()


async def subscribed(engine: EngineProcess) -> None:
    """Until one stream is open (the engine's health counts them)."""
    async def health() -> dict[str, Any]:
        return await call(engine, "GET", "/healthz")

    await EngineHarness.wait_until(health, lambda h: h["subscribers"] == 1)


async def restart(engine: EngineProcess) -> None:
    """SIGTERM, as an operator's restart sends it, then the engine again on the same port."""
    assert await engine.terminate() == 0
    await engine.start()


async def test_watch_reads_on_across_a_restart_and_shows_each_event_once(
        engine: EngineProcess) -> None:
    order_id = (await call(engine, "POST", "/api/orders/execute", **FAR))["orderId"]
    watch = await cli(engine, "watch", order_id[:8])
    assert (await line(watch))[2] == "pending"
    assert (await line(watch))[2] == "waiting"
    await restart(engine)
    await subscribed(engine)  # connected again
    await call(engine, "DELETE", f"/api/orders/{order_id}")
    out, err = await asyncio.wait_for(watch.communicate(), 20)
    assert watch.returncode == 1  # cancelled: not filled
    rest = [words[2] for words in map(str.split, out.decode().splitlines())]
    assert rest[-1] == "cancelled" and "pending" not in rest  # nothing replayed twice
    said = err.decode().splitlines()
    assert said[0].startswith("the engine went away (server shutting down); reconnecting")
    assert said[1:] == ["reconnected"]


async def test_watch_all_reads_on_from_the_last_event_it_printed(
        engine: EngineProcess) -> None:
    watch = await cli(engine, "watch", "--all")
    await subscribed(engine)  # from here, every order's events are its
    first = (await call(engine, "POST", "/api/orders/execute", **FAR))["orderId"]
    assert (await line(watch))[1:3] == [first[:8], "pending"]
    assert (await line(watch))[1:3] == [first[:8], "waiting"]
    await restart(engine)
    await call(engine, "DELETE", f"/api/orders/{first}")
    seen = []
    while not seen or seen[-1] != [first[:8], "cancelled"]:
        seen.append((await line(watch))[1:3])
    assert [first[:8], "pending"] not in seen  # read on, not again from the start
    watch.terminate()
    await watch.wait()


async def test_watch_all_onto_a_database_started_over_ends_with_3_saying_so(
        engine: EngineProcess) -> None:
    watch = await cli(engine, "watch", "--all")
    await subscribed(engine)
    first = (await call(engine, "POST", "/api/orders/execute", **FAR))["orderId"]
    assert (await line(watch))[1:3] == [first[:8], "pending"]
    assert await engine.terminate() == 0
    for state in Path(engine.db).parent.glob("e.*db*"):  # the operator starts over
        state.unlink()
    await engine.start()
    assert await asyncio.wait_for(watch.wait(), 20) == 3
    assert watch.stderr is not None
    said = (await watch.stderr.read()).decode()
    assert "its database was started over" in said and "Traceback" not in said


async def test_an_engine_that_does_not_come_back_ends_the_watch_with_3(
        engine: EngineProcess) -> None:
    order_id = (await call(engine, "POST", "/api/orders/execute", **FAR))["orderId"]
    watch = await cli(engine, "watch", order_id, "--reconnect-for", "1")
    assert (await line(watch))[2] == "pending"
    assert (await line(watch))[2] == "waiting"
    engine.kill()
    _, err = await asyncio.wait_for(watch.communicate(), 20)
    assert watch.returncode == 3
    said = err.decode().splitlines()
    assert said[0].startswith("the engine went away")
    assert said[-1] == (f"the engine did not come back within 1 s: it was waiting when last "
                        f"seen; watch it again with `python -m engine watch {order_id[:8]}`")


async def watch(url: str) -> tuple[int | None, str, str]:
    """`watch` of one order against the engine at `url`: its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine", "watch", "6f0c1a2b", "--url", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 20)
    return process.returncode, out.decode(), err.decode()


def event(seq: int, status: str) -> dict[str, Any]:
    return {"orderId": "6f0c1a2b-0000", "seq": seq, "gseq": seq, "status": status,
            "at": "2026-12-06T00:00:00.000Z", "reason": "cancelled by the trader",
            "orderType": "market", "amount": "1", "tokenIn": "SOL", "tokenOut": "USDC"}


async def test_a_stream_refused_for_now_is_asked_again_until_it_opens() -> None:
    asked: list[str] = []

    async def busy_once(request: web.Request) -> web.StreamResponse:
        asked.append(request.query.get("after", ""))
        if len(asked) == 1:  # as the engine answers past --max-connections-per-client
            return web.json_response({"error": {"code": "TOO_MANY_CONNECTIONS"}}, status=429)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        for n, status in enumerate(("pending", "cancelled"), start=1):
            await ws.send_json(event(n, status))
        await ws.close()
        return ws

    async with serving(one_order_engine(busy_once)) as url:
        code, out, err = await watch(url)
    assert code == 1  # cancelled
    assert [line.split()[2] for line in out.splitlines()] == ["pending", "cancelled"]
    assert err.splitlines() == [
        "the engine refused the stream (429); reconnecting for up to 60 s", "reconnected"]


async def test_a_stream_closed_to_try_again_later_is_read_on_from_where_it_stopped() -> None:
    asked: list[str] = []

    async def store_away_once(request: web.Request) -> web.StreamResponse:
        asked.append(request.query.get("after", ""))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if len(asked) == 1:  # as the engine closes a stream while its database is away
            await ws.send_json(event(1, "pending"))
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"the store could not be read")
            return ws
        await ws.send_json(event(2, "cancelled"))
        await ws.close()
        return ws

    async with serving(one_order_engine(store_away_once)) as url:
        code, out, err = await watch(url)
    assert code == 1 and asked == ["0", "1"]  # cancelled, read on after seq 1
    assert [line.split()[2] for line in out.splitlines()] == ["pending", "cancelled"]
    assert err.splitlines()[-1] == "reconnected"


async def test_a_stream_refused_for_good_ends_with_3_and_no_traceback() -> None:
    async def broken(request: web.Request) -> web.Response:
        return web.json_response({"error": {"code": "INTERNAL"}}, status=500)

    async with serving(one_order_engine(broken)) as url:
        code, _, err = await watch(url)
    assert code == 3
    assert err.startswith("the engine refused the stream (500: ")
    assert "Traceback" not in err


async def test_a_submission_whose_answer_was_lost_is_sent_again_with_the_same_key() -> None:
    keys: list[str] = []

    async def execute(request: web.Request) -> web.StreamResponse:
        await request.read()
        keys.append(request.headers.get("Idempotency-Key", ""))
        if len(keys) == 1:  # stored, perhaps, and the answer lost as the engine restarts
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        return web.json_response({"orderId": "6f0c1a2b-0000", "status": "pending"}, status=201)

    app = web.Application()
    app.router.add_post("/api/orders/execute", execute)
    async with serving(app) as url:
        submit = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "engine", "submit", "SOL", "USDC", "1", "--detach",
            "--url", url, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(submit.communicate(), 20)
    assert submit.returncode == 0 and out.decode().strip() == "6f0c1a2b-0000"
    assert len(keys) == 2 and keys[0] == keys[1] != ""  # one order, whichever request stored it
    assert err.decode().startswith("the answer was lost (")


def refusing(first: int, code: str, status: int = 503, retry_after: str = "1") -> tuple[
        web.Application, list[str]]:
    """An engine that refuses its first `first` submissions with `code`, then accepts; the
    Idempotency-Key of each submission."""
    keys: list[str] = []

    async def execute(request: web.Request) -> web.Response:
        await request.read()
        keys.append(request.headers.get("Idempotency-Key", ""))
        if len(keys) <= first:
            return web.json_response({"error": {"code": code, "message": "not now"}},
                                     status=status, headers={"Retry-After": retry_after})
        return web.json_response({"orderId": "6f0c1a2b-0000", "status": "pending"}, status=201)

    app = web.Application()
    app.router.add_post("/api/orders/execute", execute)
    return app, keys


async def submitted(url: str, *extra: str) -> tuple[int, str, str]:
    submit = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "engine", "submit", "SOL", "USDC", "1", "--detach", "--url", url,
        *extra, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(submit.communicate(), 20)
    assert submit.returncode is not None
    return submit.returncode, out.decode(), err.decode()


async def test_a_submission_the_engine_cannot_take_for_now_is_sent_again_after_its_retry_after(
        ) -> None:
    # The node away for a moment (503 NODE_UNHEALTHY, Retry-After: 1): the same order again,
    # under the same key, where it was refused at once with exit 2.
    app, keys = refusing(2, "NODE_UNHEALTHY")
    async with serving(app) as url:
        code, out, err = await submitted(url)
    assert (code, out.strip()) == (0, "6f0c1a2b-0000")
    assert len(keys) == 3 and len(set(keys)) == 1
    assert err.splitlines() == ["the engine cannot take it now (NODE_UNHEALTHY: not now); "
                                "sending the same order again for up to 60 s"]


async def test_a_submission_refused_for_now_for_longer_than_the_patience_is_refused() -> None:
    app, keys = refusing(1_000, "OVERLOADED", retry_after="0")  # asked again every 0.5 s
    async with serving(app) as url:
        code, _, err = await submitted(url, "--reconnect-for", "1.2")
    assert code == 2 and 2 <= len(keys) <= 4 and len(set(keys)) == 1
    assert err.splitlines() == [
        "the engine cannot take it now (OVERLOADED: not now); sending the same order again "
        "for up to 1.2 s", "refused (503): OVERLOADED: not now"]


async def test_a_halt_or_a_cap_is_refused_at_once() -> None:
    for code, status in (("TRADING_HALTED", 503), ("TOO_MANY_OPEN_ORDERS", 429)):
        app, keys = refusing(1_000, code, status)
        async with serving(app) as url:
            exit_code, _, err = await submitted(url)
        assert exit_code == 2 and len(keys) == 1, code  # the trader has to know: not retried
        assert err.splitlines() == [f"refused ({status}): {code}: not now"]

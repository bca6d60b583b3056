"""The database goes away under a running engine (PostgreSQL restarted, as operators do) and
comes back: the orders it was executing finish, each once, without a restart of the engine.
Before, an order whose read-back failed was left until the engine's next start, and /healthz
said "ok" meanwhile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine.testing import EngineHarness
from engine.testing.postgres import binaries, frozen, stopped, throwaway_postgres
from engine.testing.process import EngineProcess, health, healthy, says, statuses

pytestmark = pytest.mark.skipif(binaries() is None, reason="PostgreSQL is not installed")
MARKET = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.01}
PATIENCE = 30.0  # seconds a condition may take to hold


async def submit(session: aiohttp.ClientSession, url: str, count: int) -> list[str]:
    """`count` market orders, one after the other: their ids."""
    accepted = []
    for _ in range(count):
        async with session.post(f"{url}/api/orders/execute", json=MARKET) as resp:
            accepted.append((await resp.json())["orderId"])
    return accepted


async def test_orders_caught_by_a_database_restart_finish_once_it_is_back(
        tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    with throwaway_postgres(durable=False) as url:
        # Landings take a few hundred ms: the database stops while the orders are on their way.
        engine = EngineProcess(url, "--latency-scale", "0.3", "--failure-rate", "0",
                               "--requests-per-second", "0", "--log-level", "INFO", log=log)
        await engine.start()
        try:
            async with aiohttp.ClientSession() as session:
                accepted = await submit(session, engine.url, 20)
                with stopped(url):
                    await EngineHarness.wait_until(lambda: health(session, engine.url),
                                                   says("storage failing"), PATIENCE)
                    async with session.post(f"{engine.url}/api/orders/execute",
                                            json=MARKET) as resp:
                        assert resp.status == 503  # nothing can be stored: nothing is taken
                    # A stream that must read the store closes "try again later" (it wrote an
                    # HTTP 503 into the open socket, which the client read as a broken frame).
                    async with session.ws_connect(
                            f"{engine.url}/api/orders/stream?after=0",
                            protocols=["order-engine.v1"]) as ws:
                        closed = await ws.receive()
                    assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 1013
                await EngineHarness.wait_until(lambda: statuses(session, engine.url, accepted),
                                               lambda found: found == {"confirmed"}, PATIENCE)
                await EngineHarness.wait_until(lambda: health(session, engine.url), healthy,
                                               PATIENCE)
                async with session.get(f"{engine.url}/api/orders/{accepted[0]}") as resp:
                    events = (await resp.json())["events"]
                assert [e["status"] for e in events].count("confirmed") == 1
        finally:
            assert await engine.terminate() == 0
    # Each failure that repeats (an order's writes, leases, the feed, the keys) is said when its
    # count in a row doubles, never at every try.
    counts = [int(line.split(" in a row")[0].rsplit("(", 1)[-1].split()[0])
              for line in log.read_text().splitlines() if " in a row" in line]
    assert counts and all(n & (n - 1) == 0 for n in counts)


async def test_an_idle_engine_whose_database_is_down_says_so_in_its_health() -> None:
    with throwaway_postgres(durable=False) as url:
        engine = EngineProcess(url, "--latency-scale", "0", "--failure-rate", "0")
        await engine.start()
        try:
            async with aiohttp.ClientSession() as session:
                await EngineHarness.wait_until(lambda: health(session, engine.url), healthy,
                                               PATIENCE)
                with stopped(url):
                    # Nothing in flight: it asks (a second at most after its last read).
                    down = await EngineHarness.wait_until(
                        lambda: health(session, engine.url), says("the store cannot be read"),
                        PATIENCE)
                    assert down["status"] == "degraded"
                await EngineHarness.wait_until(lambda: health(session, engine.url),
                                               healthy, PATIENCE)
        finally:
            assert await engine.terminate() == 0


async def test_a_database_that_hangs_is_said_within_a_second_and_its_orders_finish_after(
        ) -> None:
    with throwaway_postgres(durable=False) as url:
        engine = EngineProcess(url, "--latency-scale", "0.3", "--failure-rate", "0",
                               "--requests-per-second", "0")
        await engine.start()
        try:
            async with aiohttp.ClientSession() as session:
                # The pool is busy with their writes when it hangs.
                accepted = await submit(session, engine.url, 30)
                with frozen(url):  # it answers nothing: a query to it cannot even be cancelled
                    async def within_5_s() -> dict[str, Any]:
                        # (A health that waited on the database would outlast the 5 s.)
                        async with session.get(f"{engine.url}/healthz",
                                               timeout=aiohttp.ClientTimeout(total=5)) as resp:
                            return dict(await resp.json())

                    hung = await EngineHarness.wait_until(
                        within_5_s, says("the store cannot be read"), PATIENCE)
                    assert "no answer within 1 s" in hung["reasons"][0]
                    again = await within_5_s()  # one read of it at a time, still unanswered
                    assert again["status"] == "degraded"
                    assert "no answer within 1 s" in again["reasons"][0]
                await EngineHarness.wait_until(lambda: statuses(session, engine.url, accepted),
                                               lambda found: found == {"confirmed"}, PATIENCE)
                await EngineHarness.wait_until(lambda: health(session, engine.url), healthy,
                                               PATIENCE)
        finally:
            assert await engine.terminate() == 0

"""The database goes away under a running engine (PostgreSQL restarted, as operators do) and
comes back: the orders it was executing finish, each once, without a restart of the engine.
Before, an order whose read-back failed was left until the engine's next start, and /healthz
said "ok" meanwhile."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from engine.testing.postgres import binaries, frozen, stopped, throwaway_postgres
from engine.testing.process import EngineProcess

pytestmark = pytest.mark.skipif(binaries() is None, reason="PostgreSQL is not installed")
MARKET = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.01}


async def condition(check: Any, seconds: float = 30) -> None:
    """Wait for `await check()` to hold: a condition, asked every 20 ms, not a time."""
    for _ in range(int(seconds / 0.02)):
        if await check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition never held")


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
                accepted = []
                for _ in range(20):
                    async with session.post(f"{engine.url}/api/orders/execute",
                                            json=MARKET) as resp:
                        accepted.append((await resp.json())["orderId"])

                async def health() -> dict[str, Any]:
                    async with session.get(f"{engine.url}/healthz") as resp:
                        return dict(await resp.json())

                async def waiting_on_storage() -> bool:
                    return any(reason.startswith("storage failing")
                               for reason in (await health()).get("reasons", []))

                with stopped(url):
                    await condition(waiting_on_storage)
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

                async def all_confirmed() -> bool:
                    for order_id in accepted:
                        async with session.get(f"{engine.url}/api/orders/{order_id}") as resp:
                            if (await resp.json())["status"] != "confirmed":
                                return False
                    return True

                await condition(all_confirmed)
                assert (await health())["status"] == "ok"
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
                async def health() -> dict[str, Any]:
                    async with session.get(f"{engine.url}/healthz") as resp:
                        return dict(await resp.json())

                assert (await health())["status"] == "ok"
                with stopped(url):
                    down = await health()  # no order in flight: the health asks the store
                    assert down["status"] == "degraded"
                    assert down["reasons"][0].startswith("the store cannot be read")
                assert (await health())["status"] == "ok"
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
                accepted = []
                for _ in range(30):  # the pool busy with their writes when it hangs
                    async with session.post(f"{engine.url}/api/orders/execute",
                                            json=MARKET) as resp:
                        accepted.append((await resp.json())["orderId"])
                with frozen(url):  # it answers nothing: a query to it cannot even be cancelled
                    for _ in range(2):  # and again: one read of it at a time, still unanswered
                        # (A health that waited on the database would outlast the 5 s.)
                        async with session.get(f"{engine.url}/healthz",
                                               timeout=aiohttp.ClientTimeout(total=5)) as resp:
                            hung = await resp.json()
                        assert hung["status"] == "degraded"
                        assert "no answer within 1 s" in hung["reasons"][0]

                async def all_confirmed() -> bool:
                    for order_id in accepted:
                        async with session.get(f"{engine.url}/api/orders/{order_id}") as resp:
                            if (await resp.json())["status"] != "confirmed":
                                return False
                    return True

                await condition(all_confirmed)
                async with session.get(f"{engine.url}/healthz") as resp:
                    assert (await resp.json())["status"] == "ok"
        finally:
            assert await engine.terminate() == 0

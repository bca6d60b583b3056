"""A full disk: new orders are refused with a 503 and nothing of them is kept; what the engine
holds is tried again with pauses that grow, said in its health and sparingly in its log; and
once there is room again every accepted order ends, each once.

The disk fills through a limit on the size of any file the engine's process writes
(RLIMIT_FSIZE: the kernel answers a write past it with EFBIG, which SQLite reports as a disk
error), set and raised from outside the running process with prlimit. The cluster runs as a
process of its own, whose record the limit leaves alone: embedded, its record filled with the
engine's store, and orders on their way then waited for landings it could not record, with no
write of the engine's own to refuse (`test_chain_record_full_disk.py` is the record's)."""

from __future__ import annotations

import asyncio
import os
import resource
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cluster_clients import node_and_engine

from engine.testing import EngineHarness
from engine.testing.process import EngineProcess, health, healthy, statuses

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="prlimit is Linux's")
ROOM = 1_000_000  # bytes any file may still grow by, once the disk is "full"
MARKET = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.01}
PATIENCE = 30.0  # seconds a condition may take to hold


async def submit(session: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with session.post(f"{url}/api/orders/execute", json=MARKET) as resp:
        return resp.status, await resp.json()


async def test_a_full_disk_refuses_new_orders_and_finishes_the_accepted_ones_once_freed(
        tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    # Landings take a few hundred ms: orders are on their way when the disk fills.
    sim = ("--latency-scale", "0.2", "--failure-rate", "0")
    async with node_and_engine(tmp_path, "--log-level", "INFO", sim=sim, log=log) as (_, engine):
        assert engine.proc is not None
        try:
            await fill_the_disk_and_free_it(engine, tmp_path)
        except BaseException:
            # A failure here was seen once in CI and not since: its engine's log says why.
            print("the engine's log, last 200 lines:", *log.read_text().splitlines()[-200:],
                  sep="\n")
            raise
        finally:
            resource.prlimit(engine.proc.pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        assert await engine.terminate() == 0
    said = log.read_text()
    retries = [line for line in said.splitlines() if "storage error" in line]
    counts = {int(line.split("(")[2].split(" ")[0]) for line in retries}
    assert counts and all(n & (n - 1) == 0 for n in counts)  # at a doubling only, not a spin
    assert "stored again, after" in said and "orders are stored again, after" in said


async def fill_the_disk_and_free_it(engine: EngineProcess, tmp_path: Path) -> None:
    """Orders on their way when the disk fills: new ones refused, the accepted ones waiting
    to be stored and said so; once freed, each accepted order confirmed and orders taken."""
    assert engine.proc is not None
    largest = max(entry.stat().st_size for entry in os.scandir(tmp_path))
    resource.prlimit(engine.proc.pid, resource.RLIMIT_FSIZE,
                     (largest + ROOM, resource.RLIM_INFINITY))
    accepted: list[str] = []
    refusal: dict[str, Any] = {}
    async with aiohttp.ClientSession() as session:
        async def burst() -> None:  # so that orders are executing when the disk fills
            nonlocal refusal
            answers = await asyncio.gather(*(submit(session, engine.url) for _ in range(20)))
            accepted.extend(body["orderId"] for status, body in answers if status == 201)
            refusal = refusal or next((b for status, b in answers if status == 503), {})

        for _ in range(100):
            await burst()
            if refusal:
                break
        assert refusal["error"]["code"] == "STORAGE_UNAVAILABLE"

        async def waiting_to_be_stored() -> dict[str, Any]:
            # A write may still fit in room SQLite's log already has (it is reused after a
            # checkpoint): the orders caught by the full disk may all have been written
            # before it was. Then another burst puts more on their way.
            found = await health(session, engine.url)
            if not any(r.startswith("storage failing") and "to be stored" in r
                       for r in found.get("reasons", [])):
                await burst()
                return {}
            return found

        await EngineHarness.wait_until(waiting_to_be_stored, bool, PATIENCE)
        async with session.get(f"{engine.url}/healthz") as resp:
            assert resp.status == 200  # degraded, not down: reads are still served
        async with session.get(f"{engine.url}/metrics") as resp:
            gauge = next(line for line in (await resp.text()).splitlines()
                         if line.startswith("engine_orders_awaiting_storage "))
            assert float(gauge.split()[1]) >= 1
        resource.prlimit(engine.proc.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

        await EngineHarness.wait_until(lambda: statuses(session, engine.url, accepted),
                                       lambda found: found == {"confirmed"}, PATIENCE)
        await EngineHarness.wait_until(lambda: health(session, engine.url), healthy,
                                       PATIENCE)
        status, _ = await submit(session, engine.url)
        assert status == 201  # room again: orders are taken again

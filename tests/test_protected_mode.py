"""Protected mode, as a user meets it: a real engine process, and the keys CLI beside it."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from pathlib import Path

import aiohttp

from engine.__main__ import within_descriptor_limit
from engine.config import Settings
from engine.testing.process import EngineProcess


async def status_of(url: str, path: str) -> int:
    async with aiohttp.ClientSession() as session, session.get(url + path) as resp:
        return resp.status


async def test_a_key_created_with_the_cli_locks_a_running_engine_within_a_second(
        tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path / "e.db")
    await engine.start()
    try:
        assert await status_of(engine.url, "/api/orders") == 200  # loopback, no key yet: open
        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "engine", "keys", "create", "--name", "ops", "--scope", "admin",
            "--db", str(tmp_path / "e.db"), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL)
        out, _ = await asyncio.wait_for(cli.communicate(), 30)
        assert cli.returncode == 0
        key = out.decode().strip()
        for _ in range(60):  # the engine re-reads its keys every second
            if await status_of(engine.url, "/api/orders") == 401:
                break
            await asyncio.sleep(0.05)
        assert await status_of(engine.url, "/api/orders") == 401
        async with aiohttp.ClientSession() as session, session.get(
                engine.url + "/api/orders", headers={"Authorization": f"Bearer {key}"}) as resp:
            assert resp.status == 200
    finally:
        assert await engine.terminate() == 0


async def test_insecure_no_auth_serves_a_public_address_and_says_so(tmp_path: Path) -> None:
    engine = EngineProcess(tmp_path / "e.db", "--host", "0.0.0.0", "--insecure-no-auth")
    await engine.start()  # healthy on 127.0.0.1 through the wildcard bind
    try:
        assert await status_of(engine.url, "/api/orders") == 200
    finally:
        assert await engine.terminate() == 0


def test_the_websocket_cap_is_kept_below_the_descriptor_limit() -> None:
    settings = within_descriptor_limit(replace(Settings(), max_connections=10**9))
    assert 16 <= settings.max_connections < 10**9
    assert within_descriptor_limit(Settings()).max_connections <= Settings().max_connections

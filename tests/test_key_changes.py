"""Key changes reach what is already open: revoking or lowering a key closes its WebSockets;
each key (or keyless address) has its own caps and rates; revoking the last key locks the door."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from engine.testing import EngineHarness
from engine.testing.process import EngineProcess

LIMIT = {"orderType": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.01,
         "limitPrice": 10_000}


def keys(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", "keys", *args, "--db", str(db)],
                          capture_output=True, text=True, timeout=30, check=False)


def with_key(key: str) -> tuple[str, ...]:
    return ("order-engine.v1", f"bearer.{key}")


async def test_revoking_a_key_closes_its_firehose_within_a_second(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    revoked = keys(db, "create", "--name", "bot", "--scope", "read").stdout.strip()
    kept = keys(db, "create", "--name", "ops", "--scope", "admin").stdout.strip()
    engine = EngineProcess(db)
    await engine.start()
    try:
        async with aiohttp.ClientSession() as session:
            stream = f"{engine.url}/api/orders/stream"
            async with session.ws_connect(stream, protocols=with_key(revoked)) as bot, \
                    session.ws_connect(stream, protocols=with_key(kept)) as ops:
                assert (await asyncio.to_thread(keys, db, "revoke", "bot")).returncode == 0
                revoked_at = time.monotonic()
                closing = await bot.receive(timeout=3)
                assert time.monotonic() - revoked_at < 1.0
                assert closing.type is aiohttp.WSMsgType.CLOSE
                assert (closing.data, closing.extra) == (4401, "key revoked")
                with pytest.raises(TimeoutError):
                    await ops.receive(timeout=0.6)  # the other key's stream stays open
    finally:
        await engine.terminate()


async def test_lowering_a_keys_scope_closes_the_sockets_it_no_longer_allows(
        order_engine: EngineHarness) -> None:
    key = await order_engine.create_key("bot", "trade")
    await order_engine.create_key("ops", "admin")
    assert order_engine.http is not None
    async with order_engine.http.ws_connect("/api/orders/execute",
                                            protocols=with_key(key)) as ws:
        await ws.send_json(LIMIT)  # waits for its price: the stream stays open
        assert (await ws.receive_json(timeout=5))["status"] == "pending"
        await order_engine.set_key_scope("bot", "read")
        message = await ws.receive(timeout=3)
        while message.type is aiohttp.WSMsgType.TEXT:
            message = await ws.receive(timeout=3)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert (message.data, message.extra) == (4403, "key scope lowered to read")


async def test_one_key_at_its_websocket_cap_leaves_other_keys_served(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", max_connections_per_client=3) as engine:
        greedy = await engine.create_key("greedy", "read")
        admin = await engine.create_key("ops", "admin")
        assert engine.http is not None
        held = [await engine.http.ws_connect("/api/orders/stream", protocols=with_key(greedy))
                for _ in range(3)]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await engine.http.ws_connect("/api/orders/stream", protocols=with_key(greedy))
        assert refused.value.status == 429
        async with engine.http.ws_connect("/api/orders/stream", protocols=with_key(admin)):
            pass
        for ws in held:
            await ws.close()


async def test_keyless_callers_are_rate_limited_per_address(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", requests_per_second=1.0) as engine:
        assert engine.http is not None
        statuses = []
        for _ in range(4):
            async with engine.http.get("/api/wallet") as resp:
                statuses.append(resp.status)
        assert statuses[:2] == [200, 200] and statuses[-1] == 429


async def test_revoking_the_last_key_locks_the_engine_until_keys_unlock(tmp_path: Path) -> None:
    db, log = tmp_path / "e.db", tmp_path / "engine.log"
    keys(db, "create", "--name", "bot", "--scope", "admin")
    engine = EngineProcess(db, "--log-level", "INFO", log=log)
    await engine.start()
    try:
        async with aiohttp.ClientSession() as session:
            async def keyless() -> int:
                async with session.get(f"{engine.url}/api/orders") as resp:
                    return resp.status

            async def served_keyless() -> bool:
                """Until the engine has seen the keys opened (it follows the store each
                second)."""
                for _ in range(100):
                    if await keyless() == 200:
                        return True
                    await asyncio.sleep(0.05)
                return False

            assert await keyless() == 401
            assert keys(db, "revoke", "bot").returncode == 0
            await asyncio.sleep(1.2)  # past a refresh: nothing opens (no event to wait for)
            assert await keyless() == 401  # locked, not open
            refused = keys(db, "unlock")
            assert refused.returncode == 0, refused.stderr
            assert await served_keyless()
            async with session.get(f"{engine.url}/healthz") as resp:
                assert (await resp.json())["keys"] == "open"
    finally:
        await engine.terminate()
    assert "API keys: required on every request" in log.read_text()


def test_keys_scope_changes_an_active_keys_scope(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    keys(db, "create", "--name", "bot", "--scope", "admin")
    assert keys(db, "scope", "bot", "read").returncode == 0
    assert "read" in keys(db, "list").stdout
    assert keys(db, "scope", "nobody", "read").returncode == 1


def test_unlock_is_refused_while_a_key_is_active(tmp_path: Path) -> None:
    db = tmp_path / "e.db"
    keys(db, "create", "--name", "bot", "--scope", "read")
    refused = keys(db, "unlock")
    assert refused.returncode == 1 and "bot" in refused.stderr


async def test_a_locked_engine_says_so_in_healthz(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db") as engine:
        admin = await engine.create_key("ops", "admin")
        await engine.revoke_key("ops")
        assert engine.http is not None
        async with engine.http.get("/api/orders") as resp:
            assert resp.status == 401
        await engine.create_key("reader", "admin")
        engine.use_key(admin)
        async with engine.http.get("/healthz", headers={}) as resp:
            assert (await resp.json()) == {"status": "ok"}  # no key: says no more

"""API keys, scopes and ownership, over real HTTP and WebSocket."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from engine.app import open_store
from engine.commands import keys as keys_command
from engine.config import Settings
from engine.testing import EngineHarness

MARKET = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.01}
LIMIT = {"orderType": "limit", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.01,
         "limitPrice": 10_000}


@pytest_asyncio.fixture
async def locked(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with EngineHarness.start(tmp_path / "e.db", max_waiting_per_key=2) as engine:
        yield engine


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def call(engine: EngineHarness, method: str, path: str, key: str | None = None,
               body: Any = None) -> tuple[int, Any]:
    assert engine.http is not None
    headers = bearer(key) if key else {}
    async with engine.http.request(method, path, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine", "keys", *args], capture_output=True,
                          text=True, timeout=30, check=False)


def test_keys_create_prints_the_key_alone_and_stores_only_its_hash(tmp_path: Path) -> None:
    db = str(tmp_path / "e.db")
    created = run_cli("create", "--name", "bot", "--scope", "trade", "--db", db)
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("oek_") and len(lines[0]) > 40
    with sqlite3.connect(db) as conn:
        dump = "\n".join(conn.iterdump())
    assert lines[0] not in dump and "bot" in dump
    assert "bot" in run_cli("list", "--db", db).stdout
    assert run_cli("create", "--name", "bot", "--scope", "read", "--db", db).returncode == 2
    assert run_cli("revoke", "bot", "--db", db).returncode == 0
    assert "revoked" in run_cli("list", "--db", db).stdout
    assert run_cli("revoke", "bot", "--db", db).returncode == 1
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600


def test_keys_on_a_database_that_cannot_be_reached_say_so_in_one_line() -> None:
    done = run_cli("list", "--db", "postgresql://desk@127.0.0.1:1/orders")
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert done.stderr.startswith("cannot open the PostgreSQL store")


async def test_once_a_key_exists_every_request_needs_one(locked: EngineHarness) -> None:
    assert (await call(locked, "GET", "/api/orders"))[0] == 200  # no key yet, loopback: open
    key = await locked.create_key("bot", "trade")
    status, body = await call(locked, "GET", "/api/orders")
    assert (status, body["error"]["code"]) == (401, "UNAUTHENTICATED")
    assert (await call(locked, "GET", "/api/orders", "oek_wrong"))[0] == 401
    assert (await call(locked, "GET", "/api/orders", key))[0] == 200
    status, health = await call(locked, "GET", "/healthz")
    assert status == 200 and health == {"status": "ok"}  # answers, and reveals nothing else


async def test_each_scope_allows_what_it_says_and_no_more(locked: EngineHarness) -> None:
    read = await locked.create_key("viewer", "read")
    trade = await locked.create_key("bot", "trade")
    admin = await locked.create_key("ops", "admin")
    status, body = await call(locked, "POST", "/api/orders/execute", read, MARKET)
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")
    assert (await call(locked, "POST", "/api/orders/execute", trade, MARKET))[0] == 201
    assert (await call(locked, "POST", "/api/sim/launch", trade, {}))[0] == 403
    assert (await call(locked, "POST", "/api/sim/launch", admin, {}))[0] == 201
    assert (await call(locked, "GET", "/api/wallet", read))[0] == 200


async def test_an_order_is_its_keys_alone(locked: EngineHarness) -> None:
    alice = await locked.create_key("alice", "trade")
    bob = await locked.create_key("bob", "trade")
    admin = await locked.create_key("ops", "admin")
    _, placed = await call(locked, "POST", "/api/orders/execute", alice, LIMIT)
    order_id = placed["orderId"]
    assert (await call(locked, "GET", f"/api/orders/{order_id}", bob))[0] == 404
    assert (await call(locked, "DELETE", f"/api/orders/{order_id}", bob))[0] == 404
    assert (await call(locked, "GET", "/api/orders", bob))[1]["orders"] == []
    assert [o["orderId"] for o in (await call(locked, "GET", "/api/orders", alice))[1][
        "orders"]] == [order_id]
    assert (await call(locked, "GET", f"/api/orders/{order_id}", admin))[0] == 200
    assert (await call(locked, "DELETE", f"/api/orders/{order_id}", alice))[0] == 200


async def test_a_firehose_shows_only_the_callers_orders(locked: EngineHarness) -> None:
    alice = await locked.create_key("alice", "trade")
    bob = await locked.create_key("bob", "trade")
    mine = (await call(locked, "POST", "/api/orders/execute", bob, MARKET))[1]["orderId"]
    theirs = (await call(locked, "POST", "/api/orders/execute", alice, MARKET))[1]["orderId"]
    last = (await call(locked, "POST", "/api/orders/execute", bob, MARKET))[1]["orderId"]
    assert locked.http is not None
    seen: list[str] = []
    async with locked.http.ws_connect("/api/orders/stream",
                                      protocols=("order-engine.v1", f"bearer.{bob}")) as ws:
        assert ws.protocol == "order-engine.v1"
        async for message in ws:
            event = message.json()
            seen.append(event["orderId"])
            if event["orderId"] == last and event["status"] == "confirmed":
                break
    assert theirs not in seen and mine in seen


async def test_a_websocket_needs_a_key_too(locked: EngineHarness) -> None:
    key = await locked.create_key("bot", "trade")
    assert locked.http is not None
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await locked.http.ws_connect("/api/orders/execute")
    assert refused.value.status == 401
    async with locked.http.ws_connect("/api/orders/execute",
                                      protocols=("order-engine.v1", f"bearer.{key}")) as ws:
        await ws.send_json(MARKET)
        statuses = [message.json()["status"] async for message in ws]
    assert statuses[-1] == "confirmed"


async def test_a_revoked_key_is_refused(locked: EngineHarness) -> None:
    key = await locked.create_key("bot", "trade")
    await locked.create_key("ops", "admin")
    await locked.revoke_key("bot")
    assert (await call(locked, "GET", "/api/orders", key))[0] == 401


async def test_a_key_over_its_rate_is_told_when_to_come_back(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", requests_per_second=1.0) as engine:
        key = await engine.create_key("bot", "read")
        answers = [await call(engine, "GET", "/api/wallet", key) for _ in range(4)]
        assert [status for status, _ in answers][:2] == [200, 200]
        assert answers[-1][0] == 429 and answers[-1][1]["error"]["code"] == "RATE_LIMITED"
        assert engine.http is not None
        async with engine.http.get("/api/wallet", headers=bearer(key)) as resp:
            assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1


async def test_waiting_orders_are_capped_per_key_and_cancelled_in_bulk(
        locked: EngineHarness) -> None:
    key = await locked.create_key("bot", "trade")
    other = await locked.create_key("other", "trade")
    for _ in range(2):
        assert (await call(locked, "POST", "/api/orders/execute", key, LIMIT))[0] == 201
    await locked.wait_until(lambda: call(locked, "GET", "/healthz", key),
                            lambda health: health[1]["waiting"] == 2)  # armed after their 201
    status, body = await call(locked, "POST", "/api/orders/execute", key, LIMIT)
    assert (status, body["error"]["code"]) == (429, "TOO_MANY_WAITING")
    assert (await call(locked, "POST", "/api/orders/execute", other, LIMIT))[0] == 201
    status, body = await call(locked, "DELETE", "/api/orders?status=waiting", key)
    assert status == 200 and body["count"] == 2
    assert (await call(locked, "POST", "/api/orders/execute", key, LIMIT))[0] == 201


def test_a_public_bind_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    started = subprocess.run([sys.executable, "-m", "engine", "--host", "0.0.0.0", "--port", "0",
                              "--db", str(tmp_path / "e.db")], capture_output=True, text=True,
                             timeout=30, check=False)
    assert started.returncode == 2
    assert "refusing to serve 0.0.0.0 without an API key" in started.stderr


async def test_waiting_orders_are_capped_for_everyone(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", max_waiting=1) as engine:
        assert (await call(engine, "POST", "/api/orders/execute", None, LIMIT))[0] == 201
        await engine.wait_until(lambda: call(engine, "GET", "/healthz"),
                                lambda health: health[1]["waiting"] == 1)
        status, body = await call(engine, "POST", "/api/orders/execute", None, LIMIT)
        assert (status, body["error"]["code"]) == (429, "TOO_MANY_WAITING")
        assert (await call(engine, "POST", "/api/orders/execute", None, MARKET))[0] == 201


async def test_websockets_are_capped_per_client_address(tmp_path: Path) -> None:
    async with EngineHarness.start(tmp_path / "e.db", max_connections_per_client=2) as engine:
        assert engine.http is not None
        open_ = [await engine.http.ws_connect("/api/orders/stream") for _ in range(2)]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await engine.http.ws_connect("/api/orders/stream")
        assert refused.value.status == 429
        await open_[0].close()
        again = await engine.http.ws_connect("/api/orders/stream")  # a slot came free
        for ws in (open_[1], again):
            await ws.close()


async def test_the_access_log_names_the_key_never_the_key_itself(tmp_path: Path) -> None:
    from loguru import logger

    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="INFO")
    try:
        async with EngineHarness.start(tmp_path / "e.db", access_log=True) as engine:
            key = await engine.create_key("desk", "read")
            await call(engine, "GET", "/api/orders?limit=5", key)
    finally:
        logger.remove(sink)
    access = [line for line in lines if "GET /api/orders 200" in line]
    assert access and "key=desk" in access[0] and "limit" not in access[0]
    assert not any(key in line for line in lines)


async def test_the_database_and_its_wal_are_owner_only(order_engine: EngineHarness) -> None:
    await order_engine.wait_terminal(await order_engine.submit(**MARKET))
    for path in (order_engine.settings.db, order_engine.settings.db + "-wal"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


async def test_delete_on_the_submission_url_is_405_not_an_unknown_order(
        order_engine: EngineHarness) -> None:
    assert order_engine.http is not None
    async with order_engine.http.delete("/api/orders/execute") as resp:
        assert resp.status == 405 and set(resp.headers["Allow"].split(",")) == {"GET", "POST"}


def keys(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """A keys command in this process, as `python -m engine keys ...` runs it."""
    code = keys_command.main(list(argv), lambda db: open_store(Settings(db=db)))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_commands_never_make_a_database_but_a_first_key_says_it_made_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "e.db"
    for argv in (("list",), ("revoke", "bot"), ("scope", "bot", "read"), ("unlock",)):
        code, _, err = keys(capsys, *argv, "--db", str(db))
        assert code == 2 and f"no engine database at {db}" in err
        assert not db.exists(), argv  # a key there would never reach the engine
    code, _, err = keys(capsys, "create", "--name", "bot", "--scope", "trade", "--db", str(db))
    assert code == 0 and "creating it" in err and db.is_file()


def test_keys_commands_take_the_engines_database_from_engine_db(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "e.db"
    keys(capsys, "create", "--name", "bot", "--scope", "read", "--db", str(db))
    monkeypatch.setenv("ENGINE_DB", str(db))
    code, out, _ = keys(capsys, "list")
    assert code == 0 and out.startswith("bot ")


def test_an_empty_key_list_says_what_that_means(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "e.db"
    keys(capsys, "create", "--name", "x", "--scope", "read", "--db", str(db))
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM api_keys")
    code, out, err = keys(capsys, "list", "--db", str(db))
    assert code == 0 and out == "" and "no keys: loopback clients need none" in err

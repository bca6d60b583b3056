"""Nothing a client sends reaches the log as a secret or a traceback: a real engine process at
debug level (where the most is written) is sent each malformed case, and everything it wrote is
searched for the key."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from engine.logs import printable, redact
from engine.testing.process import EngineProcess


def create_key(db: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "engine", "keys", "create", "--name", "bot",
                           "--scope", "admin", "--db", str(db)], capture_output=True, text=True,
                          check=True)
    return done.stdout.strip()


async def raw(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    try:
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


async def test_no_case_a_client_can_send_writes_its_key_or_a_traceback(tmp_path: Path) -> None:
    db, log = tmp_path / "e.db", tmp_path / "engine.log"
    key = await asyncio.to_thread(create_key, db)
    engine = EngineProcess(db, "--log-level", "DEBUG", "--access-log", log=log)
    await engine.start()
    try:
        async with aiohttp.ClientSession() as session:
            # Only the bearer subprotocol, not order-engine.v1: aiohttp's own warning names it.
            async with session.ws_connect(f"{engine.url}/api/orders/stream",
                                          protocols=(f"bearer.{key}",)) as ws:
                await ws.close()
            async with session.get(f"{engine.url}/api/orders",
                                   headers={"Authorization": f"Bearer {key}x"}) as resp:
                assert resp.status == 401
        # A control byte after the key: aiohttp refuses the head (400) and used to log it all.
        for head in (f"Authorization: Bearer {key}\x01".encode(),
                     f"Sec-WebSocket-Protocol: bearer.{key}\x7f".encode(),
                     f"X-Other: {key}\x00".encode()):
            answer = await raw(engine.port, b"GET /api/orders HTTP/1.1\r\nHost: localhost\r\n"
                               + head + b"\r\n\r\n")
            assert b" 400 " in answer.split(b"\r\n", 1)[0]
        answer = await raw(engine.port, b"\x16\x03\x01 not http at all\r\n\r\n")
        assert b" 400 " in answer.split(b"\r\n", 1)[0]
    finally:
        await engine.terminate()
    written = log.read_text(errors="replace")
    assert key not in written and key[4:20] not in written
    assert "Traceback" not in written
    assert written.count("refused a malformed request") == 4  # one line each, no more


async def test_a_path_with_a_newline_or_an_escape_stays_one_access_log_line(
        tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    engine = EngineProcess(tmp_path / "e.db", "--log-level", "INFO", "--access-log", log=log)
    await engine.start()
    try:
        async with aiohttp.ClientSession() as session:
            path = "/api/orders/x%0A2026-01-01 00:00:00.000 INFO    - forged%1B[31mred"
            async with session.get(engine.url + path) as resp:
                assert resp.status == 404
    finally:
        await engine.terminate()
    lines = [line for line in log.read_text().splitlines() if "/api/orders/x" in line]
    assert len(lines) == 1
    assert "\x1b" not in lines[0] and "\\n" in lines[0] and "\\x1b" in lines[0]
    assert not any(line.startswith("2026-01-01") for line in log.read_text().splitlines())


@pytest.mark.parametrize("text", [
    "Authorization: Bearer oek_abcDEF123-_", "'authorization': 'Bearer oek_x'",
    "Client protocols ['bearer.oek_secret'] don't overlap", "key oek_only",
    "Sec-WebSocket-Protocol: order-engine.v1, bearer.anything",
    "postgresql://engine@host/db?password=hunter2", "postgresql://engine:hunter2@host/db",
    # A hosted node's key in its URL's query, as an HTTP client's error may quote the URL:
    "URL('https://mainnet.helius-rpc.com/?api-key=hunter2')", "wss://n.example/?x=1&token=hunter2",
    # Spellings that the patterns' case-insensitive match takes (a long s, a Kelvin sign):
    # the quick test for a line that needs no pattern must take them too.
    "db?PAſSWORD=hunter2", "ſec-websocket-protocol: bearer.anything"])
def test_redaction_hides_keys_header_values_and_passwords(text: str) -> None:
    hidden = redact(text)
    assert "oek_" not in hidden.replace("oek_[redacted]", "") or "[redacted]" in hidden
    for secret in ("abcDEF123", "oek_x'", "secret", "only", "anything", "hunter2"):
        assert secret not in hidden


def test_a_line_without_a_secret_is_written_as_it_is() -> None:
    line = "6aee56e0 routing 0.5 SOL -> USDC: meteora pays 0.2021% more | plan 100% meteora\n"
    assert redact(line) == line


def test_printable_escapes_control_characters() -> None:
    assert printable("/a\nb\x1b[31m") == "/a\\nb\\x1b[31m"


LIBRARY_WARNINGS = """
import logging
from engine.logs import configure
configure("INFO")
try:
    raise ConnectionRefusedError(111, "Connect call failed")
except OSError as error:
    logging.getLogger("asyncpg.pool").warning(
        "Failed to restore the pool connection floor; retrying", exc_info=error)
try:
    raise KeyError("not a connection's")
except KeyError as error:
    logging.getLogger("somelibrary").warning("something else went wrong", exc_info=error)
"""


def test_a_librarys_warning_of_a_failed_connection_is_one_line_without_a_traceback() -> None:
    # asyncpg says this every 2 s while the database is away: a traceback a time flooded the log.
    done = subprocess.run([sys.executable, "-c", LIBRARY_WARNINGS], capture_output=True,
                          text=True, timeout=30)
    lines = done.stderr.splitlines()
    pool = [line for line in lines if "asyncpg.pool" in line]
    assert len(pool) == 1 and pool[0].endswith(
        "Failed to restore the pool connection floor; retrying: ConnectionRefusedError: "
        "[Errno 111] Connect call failed")
    assert done.stderr.count("Traceback") == 1  # the other warning's, which may be a bug's

"""The engine on PostgreSQL, the README way: orders execute, stream, and survive a restart."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from engine.testing import EngineHarness
from engine.testing.postgres import fresh_database


async def test_orders_execute_and_resume_on_postgresql(postgres_url: str,
                                                       tmp_path: Path) -> None:
    db = await fresh_database(postgres_url, str(tmp_path))
    async with EngineHarness.start(db, keypair=str(tmp_path / "w.json"),
                                   chain_db=str(tmp_path / "c.db")) as engine:
        engine.world.hold_prices()
        market = await engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1)
        limit = await engine.submit(orderType="limit", tokenIn="SOL", tokenOut="USDC",
                                    amount=1, limitPrice="1000")
        assert (await engine.wait_terminal(market))["status"] == "confirmed"
        await engine.restart()  # the waiting order is re-armed from PostgreSQL
        assert (await engine.order(limit))["status"] == "waiting"
        events = await engine.history(market)
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert len(engine.world.chain.history.landed_for(market)) == 1
        assert engine.http is not None
        async with engine.http.get("/api/orders", params={"limit": "10"}) as resp:
            page = await resp.json()
        assert {o["orderId"] for o in page["orders"]} == {market, limit}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_scripts_postgres_cleans_up_on_every_signal(postgres_url: str, signum: int) -> None:
    script = Path(__file__).parents[1] / "scripts" / "postgres.py"
    # A temp dir of its own, so that servers other tests start meanwhile are not counted;
    # open to all, since as root the server runs as `postgres`.
    tmp = tempfile.mkdtemp()
    os.chmod(tmp, 0o755)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": tmp})
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        assert len(os.listdir(tmp)) == 1
        proc.send_signal(signum)
        assert proc.wait(30) == 0
        assert os.listdir(tmp) == []
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0  # nothing listens there any more
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        shutil.rmtree(tmp)

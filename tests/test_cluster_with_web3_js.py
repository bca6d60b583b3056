"""The cluster through @solana/web3.js (npm), a client no one here wrote: its Connection with
its own schemas (tests/web3/check.mjs) over every common method, its PubSub found where a test
validator serves it (the port after the JSON-RPC one), and, on the programs, an airdrop and
transfers in both message versions."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from pathlib import Path

import aiohttp
import pytest
from solders.keypair import Keypair

from engine.testing.process import ClusterProcess, EngineProcess

HERE = Path(__file__).parent / "web3"
NODE = shutil.which("node")
INSTALLED = (HERE / "node_modules" / "@solana" / "web3.js").exists()
if not (NODE and INSTALLED):
    if os.environ.get("CI_REQUIRE_WEB3"):
        raise RuntimeError("@solana/web3.js is required in CI: npm install --prefix tests/web3")
    pytest.skip("no node or @solana/web3.js here (npm install --prefix tests/web3); CI installs "
                "them", allow_module_level=True)


def two_free_ports() -> int:
    """A port whose next one is free too (JSON-RPC, then PubSub, as a test validator)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return int(port)
    raise RuntimeError("no two consecutive free ports")


async def test_web3_js_reads_the_cluster(tmp_path: Path) -> None:
    """Without the programs (a fresh clone's CI): every read and the slot subscription."""
    assert await run_check(tmp_path) == 41


async def test_web3_js_reads_and_writes_the_cluster_on_the_programs(tmp_path: Path,
                                                                    programs: Path) -> None:
    """With them: an airdrop, transfers in both message versions, logs and account changes,
    an address lookup table made, read and used with web3.js's own program helpers, and a
    bare Connection's preflight at finalized, which knows the root's blockhash only."""
    assert await run_check(tmp_path, programs) == 51


async def run_check(tmp_path: Path, programs: Path | None = None) -> int:
    """How many of check.mjs's checks passed (it stops at the first failure, failing this)."""
    wallet = tmp_path / "wallet.json"
    extra = ("--programs", str(programs)) if programs else ()
    for attempt in range(3):
        cluster = ClusterProcess(tmp_path / "cluster.db", "--latency-scale", "0.2",
                                 "--failure-rate", "0", "--market-flow", "0",
                                 "--fund-keypair", str(wallet), *extra,
                                 log=tmp_path / "cluster.log")
        cluster.port = two_free_ports()
        cluster.url = f"http://127.0.0.1:{cluster.port}"
        cluster.args = (*cluster.args, "--pubsub-port", str(cluster.port + 1))
        try:
            await cluster.start()
            break
        except RuntimeError:  # another test's process took a port between its check and now
            if attempt == 2 or "Address already in use" not in (
                    tmp_path / "cluster.log").read_text():
                raise
    # Its start line says where a client finds it, both of PubSub's ports included.
    assert (f"JSON-RPC on {cluster.url}, PubSub on ws://127.0.0.1:{cluster.port} and "
            f"ws://127.0.0.1:{cluster.port + 1}") in (tmp_path / "cluster.log").read_text()
    engine = EngineProcess(tmp_path / "e.db", "--latency-scale", "0.2", "--failure-rate", "0",
                           "--rpc-url", cluster.url, "--keypair", str(wallet))
    await engine.start()
    try:
        async with aiohttp.ClientSession() as session, session.post(
                f"{engine.url}/api/orders/execute", json={
                    "orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC",
                    "amount": 0.1}) as resp:
            order_id = (await resp.json())["orderId"]
            for _ in range(200):  # a condition, not a time: the order's end
                async with session.get(f"{engine.url}/api/orders/{order_id}") as got:
                    if (await got.json())["status"] == "confirmed":
                        break
                await asyncio.sleep(0.05)
        owner = str(Keypair.from_json(wallet.read_text()).pubkey())
        done = await asyncio.to_thread(subprocess.run, [NODE or "node", "check.mjs",
                                                         cluster.url, owner,
                                                         "writes" if programs else "reads"],
                                       cwd=HERE, capture_output=True, text=True, timeout=120)
    finally:
        await engine.terminate()
        await cluster.terminate()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    checked = [line for line in done.stdout.splitlines() if '"ok":true' in line]
    assert len(checked) == done.stdout.count("\n"), done.stdout  # each check passed, once
    return len(checked)

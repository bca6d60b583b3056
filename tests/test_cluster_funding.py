"""Money comes from configuration, never from whoever asks first: genesis funds the wallet the
cluster is told to (--fund, --fund-keypair; the embedded cluster, the engine's own), and an
address a request names (a foreign page's getBalance, say) is never funded by naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
from loguru import logger
from solders.keypair import Keypair

from engine.clock import SystemClock
from engine.domain.errors import NodeUnhealthy
from engine.domain.transactions import TokenBalance
from engine.simulator.genesis import open_world
from engine.testing.process import ClusterProcess, EngineProcess
from engine.usecases.trading import Trading

SIM = ("--latency-scale", "0", "--failure-rate", "0")
ORDER = {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 0.5}


async def rpc(url: str, method: str, *params: Any) -> Any:
    async with aiohttp.ClientSession() as session, session.post(url, json={
            "jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}) as resp:
        return await resp.json()


async def test_naming_an_address_first_funds_nothing_and_the_engine_keeps_its_money(
        tmp_path: Path) -> None:
    wallet = tmp_path / "wallet.json"
    cluster = ClusterProcess(tmp_path / "cluster.db", *SIM, "--fund-keypair", str(wallet))
    await cluster.start()
    try:
        stranger = str(Keypair().pubkey())
        assert (await rpc(cluster.url, "getBalance", stranger))["result"]["value"] == 0
        assert "error" in await rpc(cluster.url, "getBalance", "not-a-key")
        engine = EngineProcess(tmp_path / "e.db", *SIM, "--rpc-url", cluster.url,
                               "--keypair", str(wallet))
        await engine.start()
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{engine.url}/api/wallet") as resp:
                    sol = next(b for b in (await resp.json())["balances"]
                               if b["symbol"] == "SOL")
                assert sol["amount"] == "10000"
                async with session.post(f"{engine.url}/api/orders/execute", json=ORDER) as resp:
                    assert resp.status == 201
        finally:
            await engine.terminate()
        assert (await rpc(cluster.url, "getBalance", stranger))["result"]["value"] == 0
    finally:
        await cluster.terminate()


async def test_fund_gives_the_named_wallet_the_sol_asked_for(tmp_path: Path) -> None:
    owner = str(Keypair().pubkey())
    cluster = ClusterProcess(tmp_path / "cluster.db", *SIM, "--fund", f"{owner}=25.5")
    await cluster.start()
    try:
        assert (await rpc(cluster.url, "getBalance", owner))["result"]["value"] == 25_500_000_000
    finally:
        await cluster.terminate()


def test_a_cluster_record_that_funds_another_wallet_refuses_to_start(tmp_path: Path) -> None:
    def start(fund: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "engine", "cluster", "--db",
                               str(tmp_path / "cluster.db"), "--port", "0", "--fund", fund],
                              capture_output=True, text=True, timeout=30, input="")

    first, second = str(Keypair().pubkey()), str(Keypair().pubkey())
    open_world(SystemClock(), seed=1, latency_scale=0, failure_rate=0,
               chain_db=str(tmp_path / "cluster.db"), funded=first)
    refused = start(second)
    assert refused.returncode == 2
    assert first in refused.stderr and second in refused.stderr
    assert "Traceback" not in refused.stderr


def test_a_programs_directory_without_the_programs_refuses_to_start(tmp_path: Path) -> None:
    refused = subprocess.run([sys.executable, "-m", "engine", "cluster", "--db",
                              str(tmp_path / "cluster.db"), "--port", "0", "--programs",
                              str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"cannot start the cluster: {tmp_path} has no" in refused.stderr


async def test_an_engine_whose_wallet_the_cluster_never_funded_says_so_at_start(
        tmp_path: Path) -> None:
    cluster = ClusterProcess(tmp_path / "cluster.db", *SIM, "--fund", str(Keypair().pubkey()))
    await cluster.start()
    try:
        log = tmp_path / "engine.log"
        engine = EngineProcess(tmp_path / "e.db", *SIM, "--rpc-url", cluster.url, log=log)
        await engine.start()
        await engine.terminate()
    finally:
        await cluster.terminate()
    address = Keypair.from_json((tmp_path / "wallet.json").read_text()).pubkey()
    warned = [line for line in log.read_text().splitlines() if "holds no SOL" in line]
    assert len(warned) == 1 and "WARNING" in warned[0] and str(address) in warned[0]


async def test_an_engine_says_at_start_which_wallet_trades_and_its_sol(tmp_path: Path) -> None:
    log = tmp_path / "engine.log"
    engine = EngineProcess(tmp_path / "e.db", *SIM, "--log-level", "INFO", log=log)
    await engine.start()
    await engine.terminate()
    address = Keypair.from_json((tmp_path / "wallet.json").read_text()).pubkey()
    assert f"wallet {address}: 10000 SOL" in log.read_text()
    assert "holds no SOL" not in log.read_text()


async def test_a_wallet_that_cannot_be_read_at_start_is_a_warning_not_a_failed_start() -> None:
    class Unreachable:
        address = str(Keypair().pubkey())

        async def balances(self) -> list[TokenBalance]:
            raise NodeUnhealthy("connection refused")

    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="INFO")
    try:
        trading = Trading(None, None, Unreachable(), None)  # type: ignore[arg-type]
        await trading.announce_wallet()
    finally:
        logger.remove(sink)
    assert len(lines) == 1 and "WARNING" in lines[0]
    assert "the wallet's balance could not be read: connection refused" in lines[0]

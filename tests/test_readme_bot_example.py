"""The README's bot test, exactly as written, in a fresh directory with no configuration."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def bot_example() -> str:
    section = README.read_text().split("## Testing your bot against the engine", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None, "the README's bot example is missing"
    return found.group(1)


# pytest-asyncio's default mode is strict; some projects run in auto.
@pytest.mark.parametrize("options", [(), ("-o", "asyncio_mode=auto")], ids=["strict", "auto"])
def test_the_readme_bot_example_passes_as_written_in_an_empty_directory(
        tmp_path: Path, options: tuple[str, ...]) -> None:
    (tmp_path / "test_bot.py").write_text(bot_example())
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *options], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    # Nothing to configure: not even a warning that asks for configuration.
    said = done.stdout + done.stderr
    assert "asyncio_default_fixture_loop_scope" not in said and "PytestDeprecation" not in said, said


# A bot's own tests, giving their engine options of their own by a marker.
MARKED = '''
import os

import pytest


@pytest.mark.order_engine(max_order_usd=100)
async def test_a_bot_meets_the_desks_order_limit(order_engine):
    status, body = await order_engine.post_order(
        {"orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC", "amount": 1})
    assert status == 422 and body["error"]["code"] == "NOTIONAL_TOO_LARGE"


@pytest.mark.order_engine(programs=os.environ["PROGRAMS"], market_flow=0.0)
async def test_a_bot_trades_against_the_programs_bytecode(order_engine):
    async with order_engine.http.get("/healthz") as resp:
        assert (await resp.json())["cluster"] == {"execution": "bytecode"}
    final = await order_engine.wait_terminal(
        await order_engine.submit(tokenIn="SOL", tokenOut="USDC", amount=1))
    assert final["status"] == "confirmed"


async def test_an_unmarked_test_gets_the_default_engine(order_engine):
    async with order_engine.http.get("/healthz") as resp:
        assert (await resp.json())["cluster"] == {"execution": "model"}
'''


def test_a_marker_gives_a_bots_test_an_engine_with_options_of_its_own(
        tmp_path: Path, programs: Path) -> None:
    (tmp_path / "test_bot.py").write_text(MARKED)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-W", "error::pytest.PytestUnknownMarkWarning"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "PROGRAMS": str(programs)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout

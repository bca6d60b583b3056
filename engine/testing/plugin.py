"""pytest plugin (entry point `order_engine`): an `order_engine` fixture for bot tests."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path

from engine.testing import EngineHarness

# The fixture needs pytest-asyncio; without it the plugin stays importable and offers nothing.
if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest_asyncio.fixture
    async def order_engine(tmp_path: Path) -> AsyncIterator[EngineHarness]:
        """An engine on zero-latency simulated venues, seeded, with a temporary database."""
        async with EngineHarness.start(tmp_path / "engine.db") as harness:
            yield harness

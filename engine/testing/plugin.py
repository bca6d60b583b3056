"""pytest plugin (entry point `order_engine`): an `order_engine` fixture for bot tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the fixture needs pytest-asyncio; stay importable
    pytest_asyncio = None

from engine.testing import EngineHarness

if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def order_engine(tmp_path: Path) -> AsyncIterator[EngineHarness]:
        """An engine on zero-latency simulated venues, seeded, with a temporary database."""
        async with EngineHarness.start(tmp_path / "engine.db") as harness:
            yield harness

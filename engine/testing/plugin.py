"""pytest plugin (entry point `order_engine`): an `order_engine` fixture for bot tests.

A bot author's project need not configure pytest-asyncio: an `async def` test that asks for
`order_engine` runs on asyncio as it is, in pytest-asyncio's strict mode too."""

from __future__ import annotations

import importlib.util
import inspect
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine.testing import EngineHarness

# The fixture needs pytest-asyncio; without it the plugin stays importable and offers nothing.
if importlib.util.find_spec("pytest_asyncio") is not None:
    import pytest_asyncio

    @pytest_asyncio.fixture(loop_scope="function")
    async def order_engine(request: pytest.FixtureRequest,
                           tmp_path: Path) -> AsyncIterator[EngineHarness]:
        """An engine on zero-latency simulated venues, seeded, with a temporary database;
        `@pytest.mark.order_engine(**options)` gives a test's engine options of its own
        (`EngineHarness.start`'s: `programs="DIR"`, `market_flow=0.0`, `failure_rate=0.2`...)."""
        marker = request.node.get_closest_marker("order_engine")
        options = dict(marker.kwargs) if marker is not None else {}
        async with EngineHarness.start(tmp_path / "engine.db", **options) as harness:
            yield harness


    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(config: pytest.Config) -> None:
        """pytest-asyncio warns, in a project that has not set its async fixtures' default
        loop scope, that the default will change. A bot project often has no async fixture
        but this one, which names its own scope (one loop a test): the warning would be its
        first run's first line, about a choice it does not face. So it is silenced there; a
        project that sets the option is left to pytest-asyncio."""
        config.addinivalue_line("markers", "order_engine(**options): the options of this "
                                "test's engine (EngineHarness.start's keywords)")
        if not config.getini("asyncio_default_fixture_loop_scope"):
            warnings.filterwarnings("ignore", category=pytest.PytestDeprecationWarning,
                                    message='The configuration option '
                                            '"asyncio_default_fixture_loop_scope" is unset')

    def pytest_pycollect_makeitem(collector: Any, name: str, obj: object) -> None:
        """Mark `async def` tests that use the fixture as asyncio tests (before pytest-asyncio
        looks at them); everything else is collected as pytest does."""
        if inspect.iscoroutinefunction(obj) and "order_engine" in inspect.signature(
                obj).parameters and not any(m.name == "asyncio" for m in getattr(
                    obj, "pytestmark", [])):
            pytest.mark.asyncio(obj)

"""Imports point inward. The domain is pure; adapters (store, venues, api) know the ports and the
core but never each other; only the composition root (`engine.app`) builds concrete adapters,
and only the entry points that run it (`engine.__main__`, the test harness) import it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "engine"
ADAPTERS = ("engine.store", "engine.simulator", "engine.api", "engine.solana_client")
ENTRY_POINTS = ("engine.app", "engine.__main__", "engine.testing", "engine.hosting.processes",
                "engine.commands.programs",  # a command of its own: it builds its RPC client
                "engine.commands.cluster")  # the cluster's process: it builds the simulation
IO_LIBRARIES = {"aiohttp", "aiosqlite", "sqlite3", "asyncio", "socket", "loguru", "orjson",
                "prometheus_client", "subprocess", "threading", "concurrent", "os", "io",
                "pathlib", "time", "random", "uvloop"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


MODULES = {module_name(p): imports(p) for p in sorted(ROOT.rglob("*.py"))}


def within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def adapter_of(name: str) -> str | None:
    return next((a for a in ADAPTERS if within(name, a)), None)


@pytest.mark.parametrize("module", [m for m in MODULES if within(m, "engine.domain")])
def test_the_domain_imports_nothing_of_ours_outside_it_and_no_io(module: str) -> None:
    ours = {i for i in MODULES[module] if within(i, "engine") and not within(i, "engine.domain")}
    io = {i for i in MODULES[module] if i.split(".")[0] in IO_LIBRARIES}
    assert not ours and not io, (ours, io)


@pytest.mark.parametrize("module", [m for m in MODULES if adapter_of(m)])
def test_an_adapter_never_imports_another_adapter(module: str) -> None:
    own = adapter_of(module)
    others = {i for i in MODULES[module] if adapter_of(i) not in (None, own)}
    assert not others, others


@pytest.mark.parametrize("module", [m for m in MODULES
                                    if not adapter_of(m) and not m.startswith(ENTRY_POINTS)])
def test_only_the_composition_root_imports_concrete_adapters(module: str) -> None:
    concrete = {i for i in MODULES[module] if adapter_of(i) or within(i, "engine.app")}
    assert not concrete, concrete


def test_the_rules_see_every_layer() -> None:
    assert {"engine.domain.order", "engine.store.sqlite", "engine.simulator.cluster",
            "engine.api.streams", "engine.app", "engine.orders.service", "engine.solana_client.chain",
            "engine.solana.transaction"} <= set(MODULES)
    assert "engine.store.sqlite" in MODULES["engine.app"]


LIBRARIES = ("engine.solana", "engine.pools")


def library(name: str) -> bool:
    return any(within(name, lib) for lib in LIBRARIES)


@pytest.mark.parametrize("module", [m for m in MODULES if library(m)])
def test_the_wire_format_and_the_pool_math_are_libraries_with_no_io(module: str) -> None:
    """Both sides use them (the engine to sign and to quote from accounts, the simulated
    cluster to read transactions and run swaps): they know the domain, each other and
    solders, and nothing that does I/O."""
    ours = {i for i in MODULES[module] if within(i, "engine") and not (
        within(i, "engine.domain") or library(i))}
    io = {i for i in MODULES[module] if i.split(".")[0] in IO_LIBRARIES}
    assert not ours and not io, (ours, io)


# Where a request is parsed (the domain's `requests`) and a response rendered (`engine.api.wire`)
# are the only places that name an order type; everything else asks the type (`OrderType`).
# A TWAP's slices are market orders, made by its scheduler.
NAMES_ORDER_TYPES = {"engine.api.wire": None, "engine.orders.twap": {"Market"}}
ORDER_TYPES = "engine.domain.order_types"


@pytest.mark.parametrize("module", [m for m in MODULES if not within(m, "engine.domain")])
def test_only_the_domain_knows_the_order_types_rules(module: str) -> None:
    named = {i.removeprefix(ORDER_TYPES + ".") for i in MODULES[module]
             if within(i, ORDER_TYPES) and i != ORDER_TYPES}
    allowed = NAMES_ORDER_TYPES.get(module, set())
    concrete = named - {"ORDER_TYPES", "OrderType", "order_type_of"}
    assert allowed is None or concrete <= allowed, concrete


@pytest.mark.parametrize("module", [m for m in MODULES if within(m, "engine.store")])
def test_the_store_keeps_records_of_its_own_and_imports_nothing_of_the_api(module: str) -> None:
    """Renaming an API field is never a data migration: the store's records are its own
    (`engine.store.records`), and the events' bytes are rendered by a codec it is given."""
    assert not {i for i in MODULES[module] if within(i, "engine.api")}


def test_the_two_store_dialects_share_their_sql_and_never_import_each_other() -> None:
    """What is common (queries, paging, cursors, the rows and records) is written once."""
    assert not {i for i in MODULES["engine.store.postgres"] if within(i, "engine.store.sqlite")}
    assert not {i for i in MODULES["engine.store.sqlite"] if within(i, "engine.store.postgres")}
    assert "engine.store.queries" in MODULES["engine.store.sqlite"]
    assert "engine.store.queries" in MODULES["engine.store.postgres"]

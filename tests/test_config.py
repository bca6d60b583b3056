"""Settings come from flags, falling back to ENGINE_* variables, then to the defaults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.config import FLAGS, HELP, LISTS, load


def test_defaults_are_the_documented_ones() -> None:
    s = load([], {})
    assert (s.port, s.workers, s.latency_scale, s.failure_rate, s.db) == (
        8080, 10, 1.0, 0.08, "./engine.db")
    assert (s.chain_db, s.keypair, s.log_json) == ("engine.chain.db", "wallet.json", False)


def test_environment_fills_in_and_flags_win() -> None:
    env = {"ENGINE_PORT": "9001", "ENGINE_WORKERS": "4", "ENGINE_LOG_JSON": "true"}
    assert (load([], env).port, load([], env).workers, load([], env).log_json) == (9001, 4, True)
    assert load(["--port", "9002"], env).port == 9002
    assert (load([], {}).always_preflight, load(["--always-preflight"], {}).always_preflight,
            load([], {"ENGINE_ALWAYS_PREFLIGHT": "1"}).always_preflight) == (False, True, True)


@pytest.mark.parametrize("argv", [["--failure-rate", "1.5"], ["--workers", "0"],
                                  ["--latency-scale", "-1"], ["--port", "x"]])
def test_bad_values_are_refused_at_start(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        load(argv, {})


@pytest.mark.parametrize(("argv", "says"), [
    (["--max-order-usd", "abc"], "'abc' is not a number"),
    (["--latency-scale", "inf"], "'inf' is not a finite number"),
    (["--workers", "x"], "'x' is not a whole number"),
    (["--port", "99999"], "must be a TCP port"),
    (["--log-level", "LOUD"], "'LOUD' is not a level: TRACE, DEBUG, INFO"),
    (["--rpc-url", "127.0.0.1:8899"], "'127.0.0.1:8899' is not a http:// or https:// URL"),
    (["--rpc-url", "ftp://node"], "'ftp://node' is not a http:// or https:// URL"),
    (["--ws-url", "http://n:8900"], "'http://n:8900' is not a ws:// or wss:// URL")])
def test_a_bad_value_is_named_in_the_operators_terms(
        argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load(argv, {})
    assert f"argument {argv[0]}: {says}" in capsys.readouterr().err


def test_a_bad_value_from_the_environment_names_its_variable(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load([], {"ENGINE_WORKERS": "abc"})
    assert ("argument --workers: 'abc' is not a whole number (set by ENGINE_WORKERS='abc')"
            in capsys.readouterr().err)
    assert load(["--workers", "3"], {"ENGINE_WORKERS": "abc"}).workers == 3  # a flag wins


@pytest.mark.parametrize(("value", "on"), [("1", True), ("Yes", True), ("on", True),
                                           ("0", False), ("false", False), ("", False)])
def test_a_switch_from_the_environment_is_on_or_off(value: str, on: bool) -> None:
    assert load([], {"ENGINE_SIM_API": value}).sim_api is on


def test_a_switch_set_to_anything_else_is_refused_naming_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        load([], {"ENGINE_SIM_API": "maybe"})
    assert "ENGINE_SIM_API='maybe' is not a switch" in capsys.readouterr().err


def test_a_log_level_is_taken_in_any_case() -> None:
    assert load(["--log-level", "debug"], {}).log_level == "DEBUG"
    assert load([], {"ENGINE_LOG_LEVEL": "warning"}).log_level == "WARNING"


def test_every_option_is_in_the_env_example() -> None:
    example = (Path(__file__).parents[1] / ".env.example").read_text()
    for name in (*HELP, *FLAGS, *LISTS):
        assert f"ENGINE_{name.upper()}" in example, name


def test_the_env_example_names_no_option_that_does_not_exist() -> None:
    example = (Path(__file__).parents[1] / ".env.example").read_text()
    named = set(re.findall(r"\bENGINE_([A-Z_]+)=", example))
    client = {"URL", "KEY"}  # the CLI's own: the engine it talks to, and its key
    assert named - client <= {name.upper() for name in (*HELP, *FLAGS, *LISTS)}


def test_the_wallet_has_one_default_path_whatever_the_store() -> None:
    sqlite, postgres = load([], {}), load(["--db", "postgresql://u@localhost/engine"], {})
    assert sqlite.keypair == postgres.keypair == "wallet.json"
    elsewhere = load(["--db", "/srv/desk/orders.db"], {})
    assert (elsewhere.keypair, elsewhere.chain_db) == ("/srv/desk/wallet.json",
                                                       "/srv/desk/orders.chain.db")


def test_state_files_under_older_names_are_renamed_and_never_overwritten(tmp_path: Path) -> None:
    from engine.hosting.state_files import adopt_older_names

    db = tmp_path / "engine.db"
    (tmp_path / "engine.db.wallet.json").write_text("[1]")
    for suffix in ("", "-wal"):
        (tmp_path / f"engine.db.chain{suffix}").write_text(f"chain{suffix}")
    adopt_older_names(load(["--db", str(db)], {}))
    assert (tmp_path / "wallet.json").read_text() == "[1]"
    assert (tmp_path / "engine.chain.db").read_text() == "chain"
    assert (tmp_path / "engine.chain.db-wal").read_text() == "chain-wal"
    assert not (tmp_path / "engine.db.wallet.json").exists()
    (tmp_path / "engine.db.wallet.json").write_text("[2]")  # an old file beside a current one
    adopt_older_names(load(["--db", str(db)], {}))
    assert (tmp_path / "wallet.json").read_text() == "[1]"


def test_an_explicit_keypair_path_is_left_alone(tmp_path: Path) -> None:
    from engine.hosting.state_files import adopt_older_names

    (tmp_path / "engine.db.wallet.json").write_text("[1]")
    adopt_older_names(load(["--db", str(tmp_path / "engine.db"),
                            "--keypair", str(tmp_path / "mine.json")], {}))
    assert (tmp_path / "engine.db.wallet.json").exists() and not (tmp_path / "wallet.json").exists()


def test_a_pubsub_url_is_a_nodes_and_needs_the_node_named(
        capsys: pytest.CaptureFixture[str]) -> None:
    settings = load(["--rpc-url", "http://127.0.0.1:8899", "--ws-url", "ws://127.0.0.1:8900"], {})
    assert (settings.rpc_url, settings.ws_url) == ("http://127.0.0.1:8899", "ws://127.0.0.1:8900")
    assert load(["--rpc-url", "https://node.example"], {}).ws_url == ""  # its own, as wss://
    with pytest.raises(SystemExit):
        load(["--ws-url", "ws://127.0.0.1:8900"], {})
    assert "--ws-url names the PubSub of a node --rpc-url names" in capsys.readouterr().err

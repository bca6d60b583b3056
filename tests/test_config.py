"""Settings come from flags, falling back to ENGINE_* variables, then to the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import FLAGS, HELP, LISTS, load


def test_defaults_are_the_documented_ones() -> None:
    s = load([], {})
    assert (s.port, s.workers, s.latency_scale, s.failure_rate, s.db) == (
        8080, 10, 1.0, 0.08, "./engine.db")
    assert s.chain_db == "./engine.db.chain" and s.log_json is False


def test_environment_fills_in_and_flags_win() -> None:
    env = {"ENGINE_PORT": "9001", "ENGINE_WORKERS": "4", "ENGINE_LOG_JSON": "true"}
    assert (load([], env).port, load([], env).workers, load([], env).log_json) == (9001, 4, True)
    assert load(["--port", "9002"], env).port == 9002


@pytest.mark.parametrize("argv", [["--failure-rate", "1.5"], ["--workers", "0"],
                                  ["--latency-scale", "-1"], ["--port", "x"]])
def test_bad_values_are_refused_at_start(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        load(argv, {})


def test_every_option_is_in_the_env_example() -> None:
    example = (Path(__file__).parents[1] / ".env.example").read_text()
    for name in (*HELP, *FLAGS, *LISTS):
        assert f"ENGINE_{name.upper()}" in example, name

"""How an option's text becomes its value: each kind refuses what it cannot take in the
operator's terms, and a value from the environment names the variable that set it."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any


def _number(text: str) -> float:
    """A finite number; argparse (and the environment's reader) shows the message."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _fraction(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _non_negative(text: str) -> float:
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _positive(text: str) -> float:
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _positive_int(text: str) -> int:
    value = _whole(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _non_negative_int(text: str) -> int:
    value = _whole(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _port(text: str) -> int:
    value = _whole(text)
    if not 0 <= value <= 65_535:
        raise argparse.ArgumentTypeError("must be a TCP port, 0..65535 (0: any free one)")
    return value


def _url(*schemes: str) -> Callable[[str], str]:
    """A URL with one of `schemes` and a host (empty: not set, the option's default)."""
    def parse(text: str) -> str:
        scheme, _, rest = text.partition("://")
        if text and (scheme.lower() not in schemes or not rest.strip("/")):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a {' or '.join(s + '://' for s in schemes)} URL")
        return text
    return parse


ON, OFF = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")


def _log_level(text: str) -> str:
    if text.upper() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a level: {', '.join(LOG_LEVELS)}")
    return text.upper()


def set_by(kind: Callable[[str], Any], env_name: str,
            env_value: str | None) -> Callable[[str], Any]:
    """`kind`, whose refusal of the environment's value names the variable that set it (the
    flag alone would send the operator looking at a command line that has no such flag)."""
    def parse(text: str) -> Any:
        try:
            return kind(text)
        except argparse.ArgumentTypeError as error:
            if env_value is not None and text == env_value:
                raise argparse.ArgumentTypeError(f"{error} (set by {env_name}="
                                                 f"{env_value!r})") from None
            raise
    return parse


TYPES: dict[str, Callable[[str], Any]] = {
    "port": _port, "workers": _positive_int, "latency_scale": _non_negative,
    "failure_rate": _fraction, "seed": _whole, "max_pending": _positive_int,
    "shutdown_grace": _non_negative, "launch_rate": _non_negative, "market_flow": _non_negative,
    "max_waiting": _positive_int, "max_waiting_per_key": _positive_int,
    "max_connections": _positive_int, "max_connections_per_client": _positive_int,
    "max_open_connections": _positive_int, "max_open_connections_per_client": _positive_int,
    "request_timeout": _positive, "idle_timeout": _positive,
    "launches_per_minute": _positive_int, "requests_per_second": _non_negative,
    "max_order_usd": _non_negative, "max_open_orders": _non_negative_int,
    "max_priority_fee": _non_negative_int, "max_account_age": _non_negative_int,
    "lease_seconds": _non_negative,
    "processes": _positive_int, "log_level": _log_level,
    "rpc_url": _url("http", "https"), "ws_url": _url("ws", "wss"),
}

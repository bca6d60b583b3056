"""Query parameters, parsed strictly in one place: ASCII digits only, bounded, named errors."""

from __future__ import annotations

from collections.abc import Mapping

from engine.api.errors import ApiError


def integer(query: Mapping[str, str], name: str, default: int | None, low: int, high: int,
            code: str = "INVALID_PARAMETER") -> int:
    """An integer in low..high written in ASCII digits (no sign, `_`, spaces or other scripts'
    digits); `default` when absent, or 400 MISSING_PARAMETER when there is none."""
    text = query.get(name)
    if text is None:
        if default is None:
            raise ApiError(400, "MISSING_PARAMETER", f"{name} is required", name)
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(high)) \
            or not low <= int(text) <= high:
        raise ApiError(400, code, f"{name} must be an integer in {low}..{high}", name)
    return int(text)


def flag(query: Mapping[str, str], name: str) -> bool:
    """`true` or `false` (false when absent); anything else is 400 INVALID_PARAMETER."""
    value = query.get(name, "false")
    if value not in ("true", "false"):
        raise ApiError(400, "INVALID_PARAMETER", f"{name} is true or false", name)
    return value == "true"

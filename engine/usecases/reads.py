"""A store read as the API's callers see it: a storage error is a 503, never a 500."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from engine.domain.errors import StorageUnavailable
from engine.ports import StorageError

T = TypeVar("T")


async def read(pending: Awaitable[T]) -> T:
    try:
        return await pending
    except StorageError as error:
        raise StorageUnavailable(f"the store could not be read: {error}") from None

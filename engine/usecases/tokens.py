"""The tokens an order or a quote may name: the listed ones, by symbol or mint, and any other
SPL Token mint the cluster holds, by its address (a token a sniper bought, say, to sell it
again), in the decimals its mint account declares."""

from __future__ import annotations

from collections.abc import Mapping

from loguru import logger

from engine.domain.base58 import is_public_key
from engine.domain.errors import NotAccepting, TransientError
from engine.domain.tokens import Token, lookup, unlisted
from engine.ports import Chain

MAX_REMEMBERED = 10_000  # mints whose decimals are kept; the oldest is read again if named


class TokenDirectory:
    def __init__(self, chain: Chain) -> None:
        self._chain = chain
        # A mint's decimals never change: each is read from the cluster once. A mint not
        # found is asked again next time (a launch may have made it since).
        self._found: dict[str, Token] = {}

    async def find(self, name: str) -> Token | None:
        """The token `name` names, listed or on the cluster; None if neither. Raises
        NotAccepting (503) when the cluster cannot be asked."""
        token = lookup(name) if len(name) <= 64 else None
        if token is not None or not is_public_key(name):
            return token
        if name not in self._found:
            try:
                decimals = await self._chain.mint_decimals(name)
            except TransientError as error:
                logger.warning("the mint {} could not be read: {}", name, error)
                raise NotAccepting(f"the cluster could not be asked about the mint {name}; "
                                   "try again") from None
            if decimals is None:
                return None
            if len(self._found) >= MAX_REMEMBERED:  # a bound, whatever callers name
                del self._found[next(iter(self._found))]
            self._found[name] = unlisted(name, decimals)
        return self._found[name]

    async def unlisted(self, *names: object) -> Mapping[str, Token]:
        """The tokens among a request's `names` (any JSON values) that are not listed but are
        mints on the cluster, by address: what the request's parser may accept besides."""
        found: dict[str, Token] = {}
        for name in names:
            if isinstance(name, str) and lookup(name) is None and (
                    token := await self.find(name)) is not None:
                found[name] = token
        return found

"""Commitment levels as a validator reads them: the level a call asks for (finalized when it
does not say, as agave's `CommitmentConfig::default()`), the slot each level sees, and the
floor of the history methods (getTransaction, getBlock, getBlocks, getBlocksWithLimit,
getSignaturesForAddress) and of blockSubscribe: they read the blockstore, where nothing is only
processed, so confirmed or finalized blocks only."""

from __future__ import annotations

from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError

FINALITY_DEPTH = 32  # slots after which a block is rooted, and what landed in it finalized


def asked(config: object, key: str = "commitment") -> str:
    """The level a configuration asks for; finalized if it names none. `key`: where it names
    it (sendTransaction's preflight reads at its `preflightCommitment`)."""
    level = config.get(key) if isinstance(config, dict) else None
    return level if isinstance(level, str) else "finalized"


def root(height: int) -> int:
    """The highest finalized slot: a validator roots a block about 32 slots after it."""
    return max(height - FINALITY_DEPTH, 0)


def seen(height: int, config: object, key: str = "commitment") -> int:
    """The slot a level sees: the root for finalized; the tip for processed and confirmed (a
    one-validator cluster confirms what it processes, at once)."""
    return root(height) if asked(config, key) == "finalized" else height


def key_of(method: str) -> str:
    """Where a method's configuration names the commitment its bank is read at."""
    return "preflightCommitment" if method == "sendTransaction" else "commitment"


def at_least_confirmed(config: object) -> None:
    """What agave's `check_is_at_least_confirmed` answers a history method (or a block
    subscription) asked at `processed`: -32602, in its words (no "Invalid params:" before
    them). Each asks it where agave does, after its own parameters are checked."""
    if asked(config) == "processed":
        raise RpcError(codes.INVALID_PARAMS,
                       "Method does not support commitment below `confirmed`")

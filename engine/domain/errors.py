"""Errors with stable machine-readable codes, split into transient (retry) and permanent."""

from __future__ import annotations


class EngineError(Exception):
    """Base for every error the engine reports to a trader."""

    code = "ENGINE_ERROR"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class PermanentError(EngineError):
    """Retrying cannot help: the order fails at once."""


class NoRoute(PermanentError):
    code = "NO_ROUTE"


class SlippageExceeded(PermanentError):
    code = "SLIPPAGE_EXCEEDED"


class InsufficientFunds(PermanentError):
    code = "INSUFFICIENT_FUNDS"


class RetriesExhausted(PermanentError):
    code = "RETRIES_EXHAUSTED"


class TransientError(EngineError):
    """Worth another attempt. `maybe_landed` means the transaction may still land."""

    maybe_landed = False


class RateLimited(TransientError):
    code = "RATE_LIMITED"


class NodeUnhealthy(TransientError):
    code = "NODE_UNHEALTHY"


class BlockhashNotFound(TransientError):
    code = "BLOCKHASH_NOT_FOUND"


class BlockhashExpired(TransientError):
    code = "BLOCKHASH_EXPIRED"


class SendTimeout(TransientError):
    """The node did not answer: the transaction may or may not have landed."""

    code = "SEND_TIMEOUT"
    maybe_landed = True

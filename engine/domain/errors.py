"""Errors with stable machine-readable codes, split into transient (retry) and permanent."""

from __future__ import annotations


class EngineError(Exception):
    """Base for every error the engine reports to a trader."""

    code = "ENGINE_ERROR"

    def __init__(self, message: str, *, code: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # the request field at fault, when there is one
        if code is not None:
            self.code = code



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


class InternalError(PermanentError):
    """The engine itself failed on this order, repeatedly: it ends rather than crash forever."""

    code = "INTERNAL_ERROR"


class TransientError(EngineError):
    """Worth another attempt. `maybe_landed` means the transaction may still land."""

    maybe_landed = False


class FirstHopSlipped(TransientError):
    """A two-hop route's first swap delivered less than its second was to spend: the first
    pool moved by more than the margin between them, not past the order's own slippage. The
    order is routed afresh and tried again."""

    code = "SLIPPAGE_EXCEEDED"


class RateLimited(TransientError):
    code = "RATE_LIMITED"


class NodeUnhealthy(TransientError):
    code = "NODE_UNHEALTHY"


class BlockhashNotFound(TransientError):
    code = "BLOCKHASH_NOT_FOUND"


class BlockhashExpired(TransientError):
    code = "BLOCKHASH_EXPIRED"


class OutOfCompute(TransientError):
    """The transaction met a state that took more compute units than its simulation had (a
    swap crossing more DLMM bins, say) and failed; it changed nothing but its fee, so it is
    simulated and signed again."""

    code = "COMPUTE_BUDGET_EXCEEDED"


class NodeTimeout(TransientError):
    """The node did not answer a read in time (a blockhash, a simulation, a balance): nothing
    was sent, so asking again, or signing again, is safe."""

    code = "NODE_TIMEOUT"


class SendTimeout(TransientError):
    """The node did not answer: the transaction may or may not have landed."""

    code = "SEND_TIMEOUT"
    maybe_landed = True


class Refused(EngineError):
    """A request the engine turns down before anything is stored or changed."""


class InvalidLaunch(Refused):
    """Launch parameters that would make a pool the market cannot hold."""

    code = "INVALID_LAUNCH"


class NotAccepting(Refused):
    code = "UNAVAILABLE"


class Overloaded(Refused):
    """The queue holds `max_pending` orders already: come back later."""

    code = "OVERLOADED"


class StorageUnavailable(Refused):
    """The store refused the write; nothing of the order was stored."""

    code = "STORAGE_UNAVAILABLE"


class OrderNotFound(Refused):
    code = "ORDER_NOT_FOUND"


class NotCancellable(Refused):
    """The order is executing (ORDER_EXECUTING) or finished (ORDER_FINISHED)."""

    def __init__(self, status: str, *, finished: bool) -> None:
        super().__init__(f"the order is {status}; only pending or waiting orders can be "
                         "cancelled", code="ORDER_FINISHED" if finished else "ORDER_EXECUTING")


class IdempotencyKeyInUse(Refused):
    code = "IDEMPOTENCY_KEY_IN_USE"


class IdempotencyKeyReused(Refused):
    code = "IDEMPOTENCY_KEY_REUSED"


class InvalidCursor(Refused):
    """A pagination cursor this engine did not hand out."""

    code = "INVALID_CURSOR"


class TooManyWaiting(Refused):
    """The cap on waiting orders (all keys, or this key) is reached."""

    code = "TOO_MANY_WAITING"

    def __init__(self, message: str, *, retry_after: int, per_key: bool = False) -> None:
        super().__init__(message)
        self.retry_after, self.per_key = retry_after, per_key

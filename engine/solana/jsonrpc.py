"""JSON-RPC 2.0 as Solana nodes speak it: the error shape and the codes the engine acts on."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

PARSE_ERROR = -32700
INVALID_REQUEST = -32600  # not a request object, or an empty batch (JSON-RPC 2.0)
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
PREFLIGHT_FAILURE = -32002  # data: {err, logs, unitsConsumed}
SIGNATURE_VERIFICATION_FAILURE = -32003
NODE_UNHEALTHY = -32005
MIN_CONTEXT_SLOT_NOT_REACHED = -32016  # data: {contextSlot}
RATE_LIMITED_HTTP = 429  # not a JSON-RPC code: nodes answer HTTP 429 Too Many Requests


class RpcError(Exception):
    """An error answer (or HTTP 429 / a timeout, which the transports turn into one)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.data = code, message, data

    def json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error

    @property
    def transaction_error(self) -> Any:
        """The `err` of a preflight failure (e.g. "BlockhashNotFound", {"InstructionError":...})."""
        return self.data.get("err") if isinstance(self.data, dict) else None


class RpcTimeout(RpcError):
    """No answer in time: the request may have been carried out (a send may still land)."""

    def __init__(self, method: str, message: str) -> None:
        super().__init__(0, message)
        self.method = method


def node_name(url: str) -> str:
    """A node's URL as it may be said (in the log, /healthz, an order's error): its scheme, host
    and port. Hosted nodes carry their API key in the path or the query (`/?api-key=…`,
    `/v2/<key>`), which is a secret; "/…" says there was more."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "the node"
    if not parts.scheme or not parts.hostname:
        return "the node"
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    more = "/…" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{more}"

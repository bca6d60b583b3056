"""The simulated cluster's JSON-RPC face: Solana's methods, in their real request and response
shapes and with their real error codes. The in-process transport calls `dispatch` directly; the
standalone server (`cluster_server`) puts HTTP in front of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from engine.domain.errors import (
    BlockhashNotFound,
    InsufficientFunds,
    NodeUnhealthy,
    RateLimited,
    SendTimeout,
)
from engine.simulator import commitment, rpc_params
from engine.simulator.account_rpc import AccountRpc, Accounts
from engine.simulator.chain_events import ChainEvents
from engine.simulator.cluster import GENESIS_UNIX, SimChain
from engine.simulator.encoding import current_form, transaction_json, wire_transaction
from engine.simulator.faucet import Faucet
from engine.simulator.ledger_rpc import LedgerRpc
from engine.simulator.node_info import NodeInfo
from engine.simulator.pubsub import PubSub
from engine.simulator.refusals import AlreadyProcessed, PreflightFailed
from engine.simulator.simulation_rpc import SimulationRpc
from engine.simulator.slots import SLOT_SECONDS
from engine.simulator.token_rpc import TokenRpc
from engine.solana import jsonrpc as codes
from engine.solana.jsonrpc import RpcError, RpcTimeout
from engine.solana.transaction import Rejected

MAX_SIGNATURES = 256
MAX_FEE_ACCOUNTS = 128

Handler = Callable[..., Awaitable[Any]]
# The slots whose signatures a validator's status cache answers from; older ones are found only
# with searchTransactionHistory, in its ledger (agave's MAX_CACHE_ENTRIES).
STATUS_CACHE_SLOTS = 300


class ClusterRpc:
    def __init__(self, chain: SimChain, accounts: Accounts, pubsub: PubSub | None = None,
                 events: ChainEvents | None = None, faucet: Faucet | None = None) -> None:
        self.chain, self._accounts, self._pubsub = chain, accounts, pubsub
        self._events = events
        self._methods: dict[str, Handler] = {
            "getHealth": self.get_health, "getSlot": self.get_slot,
            "getGenesisHash": self.get_genesis_hash,
            "getBlockHeight": self.get_block_height,
            "getLatestBlockhash": self.get_latest_blockhash,
            "sendTransaction": self.send_transaction,
            "getSignatureStatuses": self.get_signature_statuses,
            "getTransaction": self.get_transaction,
            "getRecentPrioritizationFees": self.get_recent_prioritization_fees,
            **(node := NodeInfo(chain)).methods(), **AccountRpc(accounts, self._context).methods(),
            **TokenRpc(accounts, self._context).methods(),
            **(faucet or Faucet(chain)).methods(),
            **SimulationRpc(chain, self._context, _rejected).methods(),
            **LedgerRpc(chain, node.identity, accounts.known).methods()}

    def enable(self, methods: dict[str, Handler]) -> None:
        """Serve these methods too (the cheatcodes, when the cluster is started with them)."""
        self._methods.update(methods)

    async def dispatch(self, method: str, params: list[Any]) -> Any:
        handler = self._methods.get(method)
        if handler is None:
            raise RpcError(codes.METHOD_NOT_FOUND, f"Method not found: {method}")
        if not isinstance(params, list):
            raise RpcError(codes.INVALID_PARAMS, "params must be an array")
        rpc_params.check(method, handler, params)  # in a validator's words, not Python's
        rpc_params.commitment(params)
        if (asked := rpc_params.min_context_slot(method, params)) is not None:
            slot = commitment.seen(self.chain.block_height, asked[1], commitment.key_of(method))
            if asked[0] > slot:
                raise rpc_params.not_reached(slot)
        try:
            return await handler(*params)
        except ValueError as error:  # the method's own words
            raise RpcError(codes.INVALID_PARAMS, f"Invalid params: {error}") from None
        except (TypeError, KeyError, IndexError, AttributeError):  # inside a config object
            raise RpcError(codes.INVALID_PARAMS, f"Invalid params: a parameter of {method} "
                                                 "is not of its shape") from None

    def subscribe(self, method: str, params: list[Any],
                  send: Callable[[dict[str, Any]], None]) -> int:
        """accountSubscribe / programSubscribe, slotSubscribe / signatureSubscribe: `send`
        gets each notification."""
        if method in ChainEvents.METHODS and self._events is not None:
            return self._events.subscribe(method, params, send)
        if self._pubsub is None:
            raise RpcError(codes.METHOD_NOT_FOUND, f"Method not found: {method}")
        return self._pubsub.subscribe(method, params, send)

    @property
    def subscriptions(self) -> int:
        """How many PubSub subscriptions are open (for the cluster's operator)."""
        return self._pubsub.count if self._pubsub is not None else 0

    def unsubscribe(self, number: int) -> bool:
        if self._events is not None and self._events.owns(number):
            return self._events.unsubscribe(number)
        return self._pubsub.unsubscribe(number) if self._pubsub is not None else False

    def _context(self) -> dict[str, Any]:
        return {"slot": self.chain.block_height, "apiVersion": "2.2.0"}

    async def get_health(self) -> str:
        """"ok", or a node's -32005 while its ledger cannot be written: what lands waits."""
        if (failing := self.chain.unwritable) is not None:
            raise RpcError(codes.NODE_UNHEALTHY, f"Node is unhealthy: its ledger cannot be "
                           f"written ({failing}); what lands waits until it can",
                           {"numSlotsBehind": None})
        return "ok"

    async def get_slot(self, config: dict[str, Any] | None = None) -> int:
        return commitment.seen(self.chain.block_height, config)

    async def get_genesis_hash(self) -> str:
        return self.chain.genesis_hash

    async def get_block_height(self, config: dict[str, Any] | None = None) -> int:
        return commitment.seen(self.chain.block_height, config)

    async def get_latest_blockhash(self, config: dict[str, Any] | None = None) -> dict[str, Any]:
        """The blockhash of the newest block the commitment sees (finalized: the root's)."""
        slot = commitment.seen(self.chain.block_height, config)
        blockhash = self.chain.latest_blockhash(slot)
        return {"context": {**self._context(), "slot": slot}, "value": {
            "blockhash": blockhash.hash, "lastValidBlockHeight": blockhash.last_valid_height}}

    async def send_transaction(self, tx: str, config: dict[str, Any] | None = None) -> str:
        tx = wire_transaction(tx, config)
        try:
            config = config if isinstance(config, dict) else {}
            bank = commitment.seen(self.chain.block_height, config, "preflightCommitment")
            return await self.chain.send(tx, preflight=not config.get("skipPreflight"), bank=bank)
        except Rejected as error:
            raise _rejected(error) from None
        except PreflightFailed as failed:
            outcome = failed.outcome
            raise _preflight(outcome.err, _error_text(outcome.err), outcome.logs,
                             outcome.units or 0) from None
        except AlreadyProcessed:
            raise _preflight("AlreadyProcessed",
                             "This transaction has already been processed") from None
        except BlockhashNotFound:
            raise _preflight("BlockhashNotFound", "Blockhash not found") from None
        except InsufficientFunds:  # the model funds one wallet: any other payer has no SOL
            raise _preflight("AccountNotFound", _error_text("AccountNotFound")) from None
        except RateLimited:
            raise RpcError(codes.RATE_LIMITED_HTTP,
                           "Too many requests for a specific RPC call") from None
        except NodeUnhealthy:
            raise RpcError(codes.NODE_UNHEALTHY, "Node is unhealthy",
                           {"numSlotsBehind": 42}) from None
        except SendTimeout as error:
            raise RpcTimeout("sendTransaction", error.message) from None

    async def get_signature_statuses(self, signatures: list[str],
                                     config: dict[str, Any] | None = None) -> dict[str, Any]:
        if len(signatures) > MAX_SIGNATURES:
            raise RpcError(codes.INVALID_PARAMS,
                           f"Too many inputs provided; max {MAX_SIGNATURES}")
        for signature in signatures:
            rpc_params.signature(signature)
        height, values = self.chain.block_height, list[dict[str, Any] | None]()
        history = isinstance(config, dict) and config.get("searchTransactionHistory") is True
        for signature in signatures:
            landed = await self.chain.status(signature)
            if landed is None:
                values.append(None)
                if not self.chain.pending(signature):
                    self.chain.idle()
                continue
            if landed.slot < height - STATUS_CACHE_SLOTS and not history:
                values.append(None)  # out of the node's status cache: only its ledger knows
                continue
            err = None
            if landed.err is not None:
                found = await self.chain.transaction(signature)
                err = found[2]["err"] if found else landed.err
            depth = max(height - landed.slot, 0)
            final = landed.slot <= commitment.root(height)
            values.append({"slot": landed.slot, "confirmations": None if final else depth,
                           "err": err, "status": {"Ok": None} if err is None else {"Err": err},
                           "confirmationStatus": "finalized" if final else "confirmed"})
        return {"context": self._context(), "value": values}

    async def get_transaction(self, signature: str, wrapper: dict[str, Any] | str | None = None
                              ) -> dict[str, Any] | None:
        rpc_params.signature(signature)
        config = current_form(wrapper)
        commitment.at_least_confirmed(config)
        found = await self.chain.transaction(signature)
        if found is None:
            return None
        landed, payload, meta = found
        if landed.slot > commitment.seen(self.chain.block_height, config):
            self.chain.idle()  # a client polling for finalization: with no time passing, a block
            return None  # not rooted yet, and finalized asked for (or by default)
        return {"slot": landed.slot, "blockTime": GENESIS_UNIX + int(landed.slot * SLOT_SECONDS),
                **transaction_json(payload, meta, config)}

    async def get_recent_prioritization_fees(self, accounts: list[str] | None = None
                                             ) -> list[dict[str, int]]:
        accounts = accounts or []
        if len(accounts) > MAX_FEE_ACCOUNTS:
            raise RpcError(codes.INVALID_PARAMS,
                           f"Too many inputs provided; max {MAX_FEE_ACCOUNTS}")
        for account in accounts:
            rpc_params.pubkey(account)
        slot = self.chain.block_height
        return [{"slot": s, "prioritizationFee": fee}
                for s, fee in self.chain.fees.recent(accounts, slot)]


def _preflight(err: Any, message: str, logs: list[str] | None = None,
               units: int = 0) -> RpcError:
    return RpcError(codes.PREFLIGHT_FAILURE, f"Transaction simulation failed: {message}",
                    {"err": err, "logs": logs or [], "unitsConsumed": units, "accounts": None})


def _error_text(err: Any) -> str:
    """A node's wording of a transaction error: "Error processing Instruction 4: custom
    program error: 0x1773"."""
    if isinstance(err, dict) and "InstructionError" in err:
        index, detail = err["InstructionError"]
        what = (f"custom program error: {hex(detail['Custom'])}"
                if isinstance(detail, dict) and "Custom" in detail else str(detail))
        return f"Error processing Instruction {index}: {what}"
    return FIELDLESS.get(err, str(err)) if isinstance(err, str) else str(err)


# How a node words the transaction errors a preflight meets most (agave's Display).
FIELDLESS = {"AccountNotFound": "Attempt to debit an account but found no record of a prior "
                                "credit.",
             "InsufficientFundsForFee": "Insufficient funds for fee",
             "BlockhashNotFound": "Blockhash not found"}


def _rejected(error: Rejected) -> RpcError:
    if error.reason == "SignatureFailure":
        return RpcError(codes.SIGNATURE_VERIFICATION_FAILURE, error.message)
    if error.reason == "TooLarge":
        return RpcError(codes.INVALID_PARAMS, error.message)
    if error.reason in ("AddressLookupTableNotFound", "InvalidAddressLookupTableIndex"):
        return _preflight(error.reason, error.message)  # as a node's preflight answers it
    return RpcError(codes.INVALID_PARAMS, f"invalid transaction: {error.message}",
                    {"err": error.reason})

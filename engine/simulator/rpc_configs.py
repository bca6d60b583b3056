"""The configuration objects of Solana's JSON-RPC methods, field by field, as a validator's serde
reads them (agave's `Rpc*Config` structs): a field of the wrong type is refused (`"before": 5`
is `invalid type: integer `5`, expected a string.`), where it was ignored; a field none of them
names is ignored, as serde ignores it. Which values a field takes (an encoding's names, say) the
methods check themselves."""

from __future__ import annotations

from typing import Any, TypedDict


class DataSlice(TypedDict, total=False):
    offset: int
    length: int


class AccountConfig(TypedDict, total=False):  # getAccountInfo, getMultipleAccounts
    encoding: str
    dataSlice: DataSlice
    commitment: str
    minContextSlot: int


class ProgramAccountsConfig(AccountConfig, total=False):
    filters: list[dict[str, Any]]
    withContext: bool
    sortResults: bool


class SignaturesConfig(TypedDict, total=False):  # getSignaturesForAddress
    before: str
    until: str
    limit: int
    commitment: str
    minContextSlot: int


class TransactionConfig(TypedDict, total=False):  # getTransaction
    encoding: str
    maxSupportedTransactionVersion: int
    commitment: str


class BlockConfig(TransactionConfig, total=False):  # getBlock
    transactionDetails: str
    rewards: bool


class SendConfig(TypedDict, total=False):  # sendTransaction
    encoding: str
    skipPreflight: bool
    preflightCommitment: str
    maxRetries: int
    minContextSlot: int


class SimulatedAccounts(TypedDict, total=False):
    addresses: list[str]
    encoding: str


class SimulateConfig(TypedDict, total=False):  # simulateTransaction
    encoding: str
    sigVerify: bool
    replaceRecentBlockhash: bool
    commitment: str
    minContextSlot: int
    innerInstructions: bool
    accounts: SimulatedAccounts


class StatusesConfig(TypedDict, total=False):  # getSignatureStatuses
    searchTransactionHistory: bool


class ContextConfig(TypedDict, total=False):  # most reads: a commitment and a slot to reach
    commitment: str
    minContextSlot: int


class TokenFilter(TypedDict, total=False):  # getTokenAccountsBy*: one of the two
    mint: str
    programId: str


# method -> (the position of its configuration, its type)
CONFIGS: dict[str, tuple[int, type]] = {
    "getAccountInfo": (1, AccountConfig), "getMultipleAccounts": (1, AccountConfig),
    "getProgramAccounts": (1, ProgramAccountsConfig),
    "getSignaturesForAddress": (1, SignaturesConfig),
    "getTransaction": (1, TransactionConfig), "getBlock": (1, BlockConfig),
    "sendTransaction": (1, SendConfig), "simulateTransaction": (1, SimulateConfig),
    "getSignatureStatuses": (1, StatusesConfig),
    "getBalance": (1, ContextConfig), "getSlot": (0, ContextConfig),
    "getBlockHeight": (0, ContextConfig), "getLatestBlockhash": (0, ContextConfig),
    "getEpochInfo": (0, ContextConfig), "getTransactionCount": (0, ContextConfig),
    "isBlockhashValid": (1, ContextConfig), "getFeeForMessage": (1, ContextConfig),
    "getTokenAccountsByOwner": (2, AccountConfig),
    "getTokenAccountsByDelegate": (2, AccountConfig),
}
# method -> (the position of its filter, its type)
FILTERS: dict[str, tuple[int, type]] = {
    "getTokenAccountsByOwner": (1, TokenFilter), "getTokenAccountsByDelegate": (1, TokenFilter),
}

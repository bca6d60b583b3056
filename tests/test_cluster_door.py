"""The standalone cluster cannot be abused from the machine it runs on: no foreign Host or
browser Origin, subscriptions that only their connection may end, caps, and malformed
parameters answered -32602 (alone in their batch), never a 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from engine.simulator import cluster_server as server
from engine.solana.programs import CPMM, DLMM
from engine.testing.process import ClusterProcess

# One cluster for the module (a process start is most of a test's time): each test opens
# connections of its own, and what one test does (a subscription, a batch) ends with them.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ClusterProcess]:
    process = ClusterProcess(tmp_path_factory.mktemp("door") / "cluster.db",
                             "--latency-scale", "0")
    await process.start()
    yield process
    await process.terminate()


def call(method: str, params: list[Any], ident: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": ident, "method": method, "params": params}


async def test_a_foreign_host_or_a_browser_origin_is_refused(cluster: ClusterProcess) -> None:
    async with aiohttp.ClientSession() as session:
        for headers in ({"Host": "rebind.attacker.example"}, {"Origin": "http://localhost:3000"}):
            async with session.post(cluster.url, json=call("getBalance", ["x"]),
                                    headers=headers) as resp:
                assert resp.status == 403
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(cluster.url, headers=headers)
            assert refused.value.status == 403


async def test_only_the_connection_that_subscribed_may_unsubscribe(
        cluster: ClusterProcess) -> None:
    async with aiohttp.ClientSession() as session, \
            session.ws_connect(cluster.url) as owner, session.ws_connect(cluster.url) as other:
        await owner.send_json(call("programSubscribe", [str(CPMM), {"encoding": "base64"}]))
        number = (await owner.receive_json(timeout=5))["result"]
        await other.send_json(call("programUnsubscribe", [number]))
        refused = await other.receive_json(timeout=5)
        assert refused["error"]["code"] == -32602
        await owner.send_json(call("programUnsubscribe", [number], 2))
        assert (await owner.receive_json(timeout=5))["result"] is True


async def test_subscriptions_are_capped_per_connection(cluster: ClusterProcess) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(cluster.url) as ws:
        for n in range(server.MAX_SUBSCRIPTIONS_PER_CONNECTION + 1):
            await ws.send_json(call("accountSubscribe", [str(CPMM)], n))
        answers = [await ws.receive_json(timeout=5)
                   for _ in range(server.MAX_SUBSCRIPTIONS_PER_CONNECTION + 1)]
    assert all("result" in a for a in answers[:-1])
    assert answers[-1]["error"]["code"] == -32602


@pytest.mark.parametrize("params", [
    ["AAAA", [1]], [str(CPMM), [1]], [{"x": 1}], [None, None, None]])
async def test_malformed_parameters_fail_alone_in_their_batch(
        cluster: ClusterProcess, params: list[Any]) -> None:
    batch = [call("getSlot", [], 1), call("sendTransaction", params, 2),
             call("getProgramAccounts", params, 3), call("simulateTransaction", params, 4),
             call("getSlot", [], 5)]
    async with aiohttp.ClientSession() as session, session.post(cluster.url, json=batch) as resp:
        assert resp.status == 200
        answers = {a["id"]: a for a in await resp.json()}
    assert "result" in answers[1] and "result" in answers[5]
    for ident in (2, 3, 4):
        assert answers[ident]["error"]["code"] in (-32602, -32003, -32002), answers[ident]


async def test_too_few_or_too_many_parameters_are_said_as_a_validator_says_them(
        cluster: ClusterProcess) -> None:
    """In the words of a validator's JSON-RPC (serde's), not of the Python behind it."""
    batch = [call("getBlockTime", [], 1), call("requestAirdrop", ["x"], 2),
             call("getSlot", [{}, 1, 2], 3)]
    async with aiohttp.ClientSession() as session, session.post(cluster.url, json=batch) as resp:
        answers = {a["id"]: a["error"] for a in await resp.json()}
    assert answers == {
        1: {"code": -32602, "message": "Invalid params: invalid length 0, expected a tuple of "
                                       "size 1."},
        2: {"code": -32602, "message": "Invalid params: invalid length 1, expected a tuple of "
                                       "size 2."},
        3: {"code": -32602, "message": "Invalid params: invalid length 3, expected a tuple of "
                                       "size 1."}}


WSOL = "So11111111111111111111111111111111111111112"


@pytest.mark.parametrize(("method", "params", "said"), [
    ("getAccountInfo", [5], "Invalid params: invalid type: integer `5`, expected a string."),
    ("getBalance", [None], "Invalid params: invalid type: null, expected a string."),
    ("getMultipleAccounts", ["x"], 'Invalid params: invalid type: string "x", expected a '
                                   "sequence."),
    ("getMultipleAccounts", [[WSOL, 5]], "Invalid params: invalid type: integer `5`, "
                                         "expected a string."),
    ("getBlockTime", [-1], "Invalid params: invalid value: integer `-1`, expected u64."),
    ("getBlocks", [True], "Invalid params: invalid type: boolean `true`, expected u64."),
    ("sendTransaction", [{}], "Invalid params: invalid type: map, expected a string."),
    ("getAccountInfo", ["notakey"], "Invalid param: WrongSize"),  # base58, not 32 bytes
    ("getAccountInfo", ["0OIl"], "Invalid param: Invalid"),  # not base58
    ("getSignatureStatuses", [["x"]], "Invalid param: WrongSize"),
    ("getTransaction", ["0" * 88], "Invalid param: Invalid"),
    ("getRecentPrioritizationFees", [["x"]], "Invalid param: WrongSize"),
    ("getMultipleAccounts", [[WSOL] * 101], "Too many inputs provided; max 100"),
    ("getSignatureStatuses", [["1" * 64] * 257], "Too many inputs provided; max 256"),
    ("getSlot", [{"commitment": "confirm"}], "Invalid params: unknown variant `confirm`, "
                                             "expected one of `processed`, `confirmed`, "
                                             "`finalized`."),
    ("sendTransaction", ["AAAA", {"preflightCommitment": 1}], "Invalid params: invalid type: "
                                                              "integer `1`, expected a string."),
    # a configuration's fields, as the method's config struct reads them
    ("getSignaturesForAddress", [WSOL, {"before": 5}], "Invalid params: invalid type: integer "
                                                       "`5`, expected a string."),
    ("getAccountInfo", [WSOL, {"dataSlice": {"offset": "a", "length": 1}}],
     'Invalid params: invalid type: string "a", expected u64.'),
    ("sendTransaction", ["AAAA", {"skipPreflight": "yes"}], 'Invalid params: invalid type: '
                                                            'string "yes", expected a boolean.'),
    ("getTokenAccountsByOwner", [WSOL, {"mint": 5}], "Invalid params: invalid type: integer "
                                                     "`5`, expected a string."),
    ("getAccountInfo", [WSOL, {"encoding": "binary64"}], "Invalid params: unknown variant "
                                                          "`binary64`, expected one of `base58`, "
                                                          "`base64`, `base64+zstd`, "
                                                          "`jsonParsed`."),
    ("getProgramAccounts", [str(CPMM), {"filters": [{"memcmp": 5}]}],
     "Invalid params: a parameter of getProgramAccounts is not of its shape"),
    # a transaction's own encoding: base58 unless it says base64, as agave decodes it
    ("sendTransaction", ["0OIl"], "invalid base58 encoding: InvalidCharacter { character: "
                                  "'0', index: 0 }"),
    ("sendTransaction", ["1" * 1684], "base58 encoded solana_transaction::versioned::"
                                      "VersionedTransaction too large: 1684 bytes (max: "
                                      "encoded/raw 1683/1232)"),
    ("sendTransaction", ["AAAA", {"encoding": "json"}], "unsupported encoding: json. "
                                                        "Supported encodings: base58, base64"),
    ("simulateTransaction", ["AAAA", {"encoding": "base32"}], "Invalid params: unknown variant "
                                                              "`base32`, expected one of "
                                                              "`binary`, `base64`, `base58`, "
                                                              "`json`, `jsonParsed`."),
])
async def test_malformed_parameters_are_refused_in_a_validators_words(
        cluster: ClusterProcess, method: str, params: list[Any], said: str) -> None:
    async with aiohttp.ClientSession() as session, \
            session.post(cluster.url, json=call(method, params)) as resp:
        answer = await resp.json()
    assert answer["error"] == {"code": -32602, "message": said}


async def test_a_min_context_slot_ahead_of_the_node_is_answered_as_a_validator_does(
        cluster: ClusterProcess) -> None:
    """Clients ask for data at least as new as a slot they have seen (web3.js's
    `minContextSlot`): a node behind it says so, -32016 with its own slot, and they ask again."""
    batch = [call("getSlot", [], 1), call("getBalance", [WSOL, {"minContextSlot": 10**9}], 2),
             call("getBalance", [WSOL, {"minContextSlot": 0}], 3),
             call("getSlot", [{"minContextSlot": "x"}], 4)]
    async with aiohttp.ClientSession() as session, session.post(cluster.url, json=batch) as resp:
        answers = {a["id"]: a for a in await resp.json()}
    behind = answers[2]["error"]
    assert behind["code"] == -32016
    assert behind["message"] == "Minimum context slot has not been reached"
    assert behind["data"]["contextSlot"] >= answers[1]["result"]
    assert answers[3]["result"]["value"] == 0
    assert answers[4]["error"] == {"code": -32602, "message": 'Invalid params: invalid type: '
                                                              'string "x", expected u64.'}


@pytest.mark.parametrize(("method", "params", "said"), [
    ("accountSubscribe", [], "Invalid params: invalid length 0, expected a tuple of size 1."),
    ("accountSubscribe", [5], "Invalid params: invalid type: integer `5`, expected a string."),
    ("programSubscribe", ["notakey"], "Invalid param: WrongSize"),
    ("signatureSubscribe", ["0OIl"], "Invalid param: Invalid"),
    ("accountUnsubscribe", ["a"], 'Invalid params: invalid type: string "a", expected u64.'),
])
async def test_malformed_subscriptions_are_refused_in_a_validators_words(
        cluster: ClusterProcess, method: str, params: list[Any], said: str) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(cluster.url) as ws:
        await ws.send_json(call(method, params))
        answer = await ws.receive_json(timeout=5)
    assert answer["error"] == {"code": -32602, "message": said}


async def test_what_is_not_a_request_is_answered_as_json_rpc_2_says(
        cluster: ClusterProcess) -> None:
    async with aiohttp.ClientSession() as session:
        for body, code in ((b"[]", -32600), (b"5", -32600), (b'{"id": 1}', -32600),
                           (b"{not json", -32700),
                           (b"[" + b",".join([b'{"jsonrpc":"2.0","id":1,"method":"getSlot"}']
                                             * (server.MAX_BATCH + 1)) + b"]", -32602)):
            async with session.post(cluster.url, data=body,
                                    headers={"Content-Type": "application/json"}) as resp:
                assert resp.status == 200
                answer = await resp.json()
            assert (answer["id"], answer["error"]["code"]) == (None, code), body[:20]


class SilentSocket:
    """A PubSub client that never reads: only its close is seen."""

    closed = False

    def __init__(self) -> None:
        self.codes: list[int] = []

    async def close(self, *, code: int, message: bytes) -> bool:
        self.codes.append(code)
        self.closed = True
        return True


async def test_a_client_that_stops_reading_is_dropped_once_when_its_backlog_is_full() -> None:
    ws = SilentSocket()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(server.MAX_BACKLOG)
    send = server.backlog_sender(ws, outbox)  # type: ignore[arg-type]
    for n in range(server.MAX_BACKLOG + 50):
        send({"n": n})
    await asyncio.sleep(0)
    assert outbox.qsize() == server.MAX_BACKLOG
    assert ws.codes == [1008]  # policy violation, once, however many more came


async def test_an_answer_over_the_size_cap_is_an_error_not_megabytes(
        cluster: ClusterProcess) -> None:
    batch = [call("getProgramAccounts", [str(DLMM), {"encoding": "base64"}], n)
             for n in range(server.MAX_BATCH)]
    async with aiohttp.ClientSession() as session, session.post(cluster.url, json=batch) as resp:
        body = await resp.read()
    assert len(body) < 1024 and b"-32602" in body and b"exceed" in body


async def test_the_deprecated_bare_encoding_is_read_as_agave_reads_it(
        cluster: ClusterProcess) -> None:
    """getTransaction's and getBlock's configuration as a bare encoding ("json"), as older
    clients send it: {"encoding": "json"}, at the default commitment."""
    signature = "1" * 64  # a well-formed signature no transaction has
    batch = [call("getTransaction", [signature, "json"], 1), call("getBlock", [0, "json"], 2),
             call("getBlock", [0, "xml"], 3)]
    async with aiohttp.ClientSession() as session, session.post(cluster.url, json=batch) as resp:
        answers = {a["id"]: a for a in await resp.json()}
    assert answers[1]["result"] is None
    assert answers[2]["result"]["blockHeight"] == 0
    assert answers[3]["error"]["message"].startswith("Invalid params: unknown variant `xml`")


async def test_null_params_and_null_fields_are_params_and_fields_not_sent(
        cluster: ClusterProcess) -> None:
    """serde reads a JSON null as None: solders' requests send unset options as null."""
    batch = [call("getSlot", None, 1),  # type: ignore[arg-type]
             call("getAccountInfo", [WSOL, {"encoding": None, "dataSlice": None,
                                            "commitment": None, "minContextSlot": None}], 2),
             call("getSignaturesForAddress", [WSOL, {"limit": None, "before": None}], 3)]
    async with aiohttp.ClientSession() as session, session.post(cluster.url, json=batch) as resp:
        answers = {a["id"]: a for a in await resp.json()}
    assert all("result" in answer for answer in answers.values()), answers

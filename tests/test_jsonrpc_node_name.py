"""A node's URL as the engine says it (logs, /healthz, errors): never its API key."""

from __future__ import annotations

import pytest

from engine.solana.jsonrpc import node_name


@pytest.mark.parametrize(("url", "said"), [
    ("http://127.0.0.1:8899", "http://127.0.0.1:8899"),
    ("https://api.devnet.solana.com", "https://api.devnet.solana.com"),
    ("https://mainnet.helius-rpc.com/?api-key=s3cret", "https://mainnet.helius-rpc.com/…"),
    ("https://x.solana-mainnet.quiknode.pro/s3cret/", "https://x.solana-mainnet.quiknode.pro/…"),
    ("https://user:s3cret@node.example:8443/", "https://node.example:8443"),
    ("ws://[::1]:8900", "ws://[::1]:8900"),
    ("http://node.example:99999", "the node"), ("not a url", "the node")])
def test_a_node_is_named_by_scheme_host_and_port_only(url: str, said: str) -> None:
    assert node_name(url) == said

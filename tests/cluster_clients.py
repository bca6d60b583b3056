"""What the cluster tests share: a JSON-RPC call sent as raw JSON (for methods a client lacks,
parsed then by solders' own response types) and an engine's sale, to give the cluster a landed
transaction."""

from __future__ import annotations

import aiohttp


async def raw(url: str, method: str, *params: object) -> str:
    async with aiohttp.ClientSession() as session, session.post(url, json={
            "jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}) as resp:
        return await resp.text()


async def confirmed_sale(engine_url: str) -> str:
    """Sell a little SOL through the engine; its transaction's signature, once confirmed."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{engine_url}/api/orders/execute", json={
                "orderType": "market", "tokenIn": "SOL", "tokenOut": "USDC",
                "amount": 0.01}) as resp:
            order_id = (await resp.json())["orderId"]
        async with session.ws_connect(f"{engine_url}/api/orders/status/{order_id}") as feed:
            events = [m.json() async for m in feed]
    assert events[-1]["status"] == "confirmed"
    return str(events[-1]["txHash"])

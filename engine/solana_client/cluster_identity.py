"""Which cluster the node is: checked at start against the one this database's orders were made
on (`app.edge.same_cluster`), and again every second while the engine runs. A node replaced behind
the same URL by one of another cluster (a simulated cluster started again on a fresh record, a
load balancer pointed elsewhere) is then treated as no node at all: nothing is sent to it or
read from it, so no order executes on a chain that never saw its earlier attempts, and no fate
is read from a chain that cannot know it. Orders wait, or fail after their attempts, as with a
node that is down; once the node is that cluster again, everything carries on."""

from __future__ import annotations

from loguru import logger

from engine.ports import Clock
from engine.solana.jsonrpc import RpcError
from engine.solana_client.client import RpcClient

CHECK_SECONDS = 1.0


class ClusterIdentity:
    def __init__(self, rpc: RpcClient, genesis: str, where: str, clock: Clock) -> None:
        """`genesis`: the hash of the cluster this engine's orders were made on; `where`: the
        node, as it may be said (`jsonrpc.node_name`: never its key)."""
        self._rpc, self._genesis, self._where, self._clock = rpc, genesis, where, clock

    async def run(self) -> None:
        """Check once a second until cancelled (at the engine's stop)."""
        while True:
            await self.check()
            await self._clock.sleep(CHECK_SECONDS)

    async def check(self) -> None:
        try:
            found = await self._rpc.get_genesis_hash()
        except RpcError:  # down or hung: the health check and the orders say so already
            return
        if found != self._genesis and self._rpc.fenced is None:
            self._rpc.fenced = (f"{self._where} is now another cluster (genesis hash {found}; "
                                f"this engine's orders were made on {self._genesis}): nothing "
                                "is sent to it or read from it until it is that cluster again")
            logger.error("{}", self._rpc.fenced)
        elif found == self._genesis and self._rpc.fenced is not None:
            self._rpc.fenced = None
            logger.info("{} is the cluster this engine's orders were made on again",
                        self._where)

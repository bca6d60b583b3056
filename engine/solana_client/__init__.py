"""The engine's side of the chain: Solana JSON-RPC, the wallet's keypair, signed swaps."""

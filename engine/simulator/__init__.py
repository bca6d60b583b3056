"""Simulated venues and chain: in-process stand-ins for Raydium, Meteora and Solana RPC."""

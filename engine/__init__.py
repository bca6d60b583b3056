"""An order execution engine for Solana DEX trading, routing between Raydium and Meteora."""

__version__ = "0.1.0"

"""Solana's wire format: program ids, account addresses, instructions, signed transactions."""

"""Durable storage of orders and their events."""

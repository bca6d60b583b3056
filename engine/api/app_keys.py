"""Typed application state."""

from __future__ import annotations

from aiohttp import web

from engine.ports import Market
from engine.usecases import Engine

ENGINE = web.AppKey("engine", Engine)
MARKET = web.AppKey("market", Market)  # the simulated market's controls (/api/sim/*)
SEND_TIMEOUT = web.AppKey("send_timeout", float)  # seconds a subscriber gets to take a frame
EXECUTION = web.AppKey("execution", str)  # what runs the cluster's transactions (getVersion)

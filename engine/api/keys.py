"""Typed application state."""

from __future__ import annotations

from aiohttp import web

from engine.runtime import Engine

ENGINE = web.AppKey("engine", Engine)

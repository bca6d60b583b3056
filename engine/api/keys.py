"""Typed application state."""

from __future__ import annotations

import weakref

from aiohttp import web

from engine.runtime import Engine

ENGINE = web.AppKey("engine", Engine)
SOCKETS = web.AppKey("sockets", weakref.WeakSet[web.WebSocketResponse])

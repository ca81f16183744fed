"""Typed keys for what the notifier app keeps: its settings and its sockets' hub."""

from __future__ import annotations

from aiohttp import web

from hspm.notifier.config import Settings

settings_key = web.AppKey("notifier_settings", Settings)

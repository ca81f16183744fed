"""Typed keys for what the licensing app keeps: its settings."""

from __future__ import annotations

from aiohttp import web

from hspm.licensing.config import Settings

settings_key = web.AppKey("licensing_settings", Settings)

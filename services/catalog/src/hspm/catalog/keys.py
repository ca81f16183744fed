"""Typed application keys of the catalog service."""

from __future__ import annotations

from aiohttp import web

from hspm.catalog.config import Settings

settings_key = web.AppKey("catalog_settings", Settings)

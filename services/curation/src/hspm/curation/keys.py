"""Typed application keys of the curation service."""

from __future__ import annotations

import asyncio

from aiohttp import web

from hspm.curation.config import Settings

settings_key = web.AppKey("curation_settings", Settings)
scheduler_key = web.AppKey("curation_scheduler", asyncio.Task[None])

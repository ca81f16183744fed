"""Typed keys of the validator's application state."""

from __future__ import annotations

from aiohttp import web

from hspm.validator.worker import Worker

worker = web.AppKey("validator_worker", Worker)

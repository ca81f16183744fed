"""Typed application keys of the identity service."""

from __future__ import annotations

import aiohttp
from aiohttp import web

from hspm.identity.config import Settings
from hspm.identity.signing import TokenIssuer

settings_key = web.AppKey("identity_settings", Settings)
issuer_key = web.AppKey("identity_token_issuer", TokenIssuer)
http_key = web.AppKey("identity_http", aiohttp.ClientSession)

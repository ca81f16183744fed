"""Typed keys of what the web app and each request carry."""

from __future__ import annotations

import aiohttp
import jinja2
from aiohttp import web

from hspm.web.config import Settings
from hspm.web.session import Session, SessionBox

settings = web.AppKey("web_settings", Settings)
http = web.AppKey("web_http", aiohttp.ClientSession)
box = web.AppKey("web_session_box", SessionBox)
templates = web.AppKey("web_templates", jinja2.Environment)

session = web.RequestKey("web_session", Session)
# Set when the handler changed the session (sign-in, sign-out): the cookie is rewritten.
session_changed = web.RequestKey("web_session_changed", bool)

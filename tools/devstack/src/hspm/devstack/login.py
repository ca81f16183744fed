"""A scripted browser login through the gateway and the dev OpenID Connect provider."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urljoin

import aiohttp

_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"', re.IGNORECASE)


class LoginFailed(Exception):
    """The provider refused the credentials or the flow broke; ``status`` tells where."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


async def browser_login(gateway_url: str, idp_id: str, login: str, password: str) -> dict[str, str]:
    """Follow the redirects a browser would and return the ``/sessions`` JSON (jwt...)."""
    # unsafe=True: the default jar drops cookies set by IP-address hosts like 127.0.0.1.
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=aiohttp.ClientTimeout(total=20)) as http:
        async with http.get(f"{gateway_url}/identity_providers/{idp_id}/redirect") as resp:
            page = await resp.text()
            if resp.status != 200:
                raise LoginFailed(
                    f"authorization redirect ended with {resp.status}: {page[:200]}", resp.status
                )
            form_url = str(resp.url)
        match = _FORM_ACTION.search(page)
        if match is None:
            raise LoginFailed("no login form on the provider's page", resp.status)
        action = urljoin(form_url, unescape(match.group(1)))
        async with http.post(action, data={"login": login, "password": password}) as resp:
            body = await resp.text()
            if resp.status != 200 or "/sessions" not in resp.url.path:
                raise LoginFailed(
                    f"login ended at {resp.url.path} with {resp.status}: {body[:200]}", resp.status
                )
            data = await resp.json(content_type=None)
    if not isinstance(data, dict) or "jwt" not in data:
        raise LoginFailed("the callback did not return a token", 500)
    return data

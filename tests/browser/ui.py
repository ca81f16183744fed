"""A scripts-off browser for the web UI: cookies, forms with their CSRF token, sign-in.

It signs in the way a person does (the provider's form, then the UI's landing page), except
that the one-time code the landing page's script would read from the fragment is read here.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from hspm.devstack.login import ui_sign_in

CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
PASSWORDS = {p: f"{p}-demo-password" for p in ("admin", "operator", "isv", "customer", "auditor")}


class Browser:
    """One visitor: an aiohttp session with its own cookie jar, redirects followed like a browser's."""

    def __init__(self, gateway_url: str) -> None:
        self.base = gateway_url
        # unsafe: the default jar drops cookies of IP-address hosts such as 127.0.0.1.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def close(self) -> None:
        await self.http.close()

    async def get(self, path: str, **kw: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.get(self.base + path, **kw) as resp:
            return resp.status, await resp.text(), resp

    async def post(self, path: str, data: Any, **kw: Any) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.post(self.base + path, data=data, **kw) as resp:
            return resp.status, await resp.text(), resp

    async def csrf(self, path: str = "/ui/") -> str:
        """The form token of this visitor's session, from any page's form."""
        _, html, _ = await self.get(path)
        match = CSRF.search(html)
        assert match is not None, "no form token on the page"
        return match.group(1)

    async def submit(
        self, page: str, action: str, fields: dict[str, Any]
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        """Post a form as the page at ``page`` offers it (its CSRF token included)."""
        token = await self.csrf(page)
        return await self.post(action, {**fields, "csrf": token})

    async def sign_in(self, persona: str) -> None:
        """Through the UI's sign-in page, the provider's form and the landing page."""
        await ui_sign_in(self.http, self.base, persona, PASSWORDS[persona])

"""A scripted browser login through the gateway and the dev OpenID Connect provider."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urljoin, urlsplit

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
            code = _landing_code(resp)
            if code is None and (resp.status != 200 or "/sessions" not in resp.url.path):
                raise LoginFailed(
                    f"login ended at {resp.url.path} with {resp.status}: {body[:200]}", resp.status
                )
            data = await resp.json(content_type=None) if code is None else None
        if code is not None:
            # A UI is configured: the callback sent the browser there with a one-time code in
            # the fragment, which the UI (here: we) trades for the token.
            data = await _redeem(http, gateway_url, code)
    if not isinstance(data, dict) or "jwt" not in data:
        raise LoginFailed("the callback did not return a token", 500)
    return data


def _landing_code(resp: aiohttp.ClientResponse) -> str | None:
    """The one-time code of a redirect to the UI (``...#code=...``) on the way, if any."""
    for hop in resp.history:
        fragment = urlsplit(hop.headers.get("Location", "")).fragment
        codes = parse_qs(fragment).get("code")
        if codes:
            return codes[0]
    return None


async def _redeem(http: aiohttp.ClientSession, gateway_url: str, code: str) -> object:
    async with http.post(f"{gateway_url}/sessions/token", json={"code": code}) as resp:
        if resp.status != 200:
            raise LoginFailed(f"the login code was refused with {resp.status}", resp.status)
        return await resp.json(content_type=None)


_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
_PROVIDER_LINK = re.compile(r'href="([^"]+/identity_providers/[^"]+/redirect)"')


async def ui_sign_in(http: aiohttp.ClientSession, gateway_url: str, login: str, password: str) -> None:
    """Sign ``http`` into the web UI as a person does, scripts aside.

    The UI's sign-in page, the first provider it offers, the provider's form; then the one-time
    code the landing page's script would read from the URL's fragment is posted with the
    page's form token. ``http``'s cookie jar must keep 127.0.0.1's cookies (``unsafe=True``).
    """
    async with http.get(f"{gateway_url}/ui/login") as resp:
        provider = _PROVIDER_LINK.search(await resp.text())
    if provider is None:
        raise LoginFailed("the UI offers no identity provider", resp.status)
    async with http.get(unescape(provider.group(1))) as resp:
        page, form_url = await resp.text(), str(resp.url)
    match = _FORM_ACTION.search(page)
    if match is None:
        raise LoginFailed("no login form on the provider's page", resp.status)
    action = urljoin(form_url, unescape(match.group(1)))
    async with http.post(action, data={"login": login, "password": password}) as resp:
        code = _landing_code(resp)
        if code is None:
            raise LoginFailed(f"the login did not land on the UI ({resp.url.path})", resp.status)
    async with http.get(f"{gateway_url}/ui/login/done") as resp:
        token = _CSRF.search(await resp.text())
    if token is None:
        raise LoginFailed("the UI's landing page has no form token", resp.status)
    async with http.post(f"{gateway_url}/ui/login/done", data={"code": code, "csrf": token.group(1)}) as resp:
        if resp.status != 200 or "/ui/login" in resp.url.path:
            raise LoginFailed(f"the UI refused the login code with {resp.status}", resp.status)

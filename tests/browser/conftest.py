"""Browser tests: Debian's Chromium, headless, driven by Playwright against a real stack.

Playwright never downloads a browser here: it is pointed at ``/usr/bin/chromium`` (apt
package ``chromium``, installed by ``scripts/bootstrap.sh``). Without it the tests skip
locally and fail under ``CI=true``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from hspm.common.testing import unavailable
from hspm.devstack.stack import Stack

CHROMIUM = Path(os.environ.get("HSPM_CHROMIUM", "/usr/bin/chromium"))
PASSWORDS = {p: f"{p}-demo-password" for p in ("admin", "operator", "isv", "customer", "auditor")}
# A generous bound for one step (a page, a redirect); the waits for states are longer.
STEP_MS = 15_000

SignIn = Callable[..., Awaitable[Page]]


@pytest_asyncio.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as driver:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = await driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield browser
        await browser.close()


@pytest_asyncio.fixture
async def contexts(chromium: Browser) -> AsyncIterator[list[BrowserContext]]:
    """Every browser context a test opens, closed after it."""
    opened: list[BrowserContext] = []
    yield opened
    for context in opened:
        await context.close()


@pytest_asyncio.fixture
async def sign_in(chromium: Browser, contexts: list[BrowserContext], stack: Stack) -> SignIn:
    """A new visitor signed in as ``persona`` through the UI, as a person would."""

    async def visitor(persona: str | None, **options: Any) -> Page:
        """``persona`` None: an anonymous visitor. ``options``: Playwright's context options."""
        context = await chromium.new_context(
            base_url=stack.config.gateway_url, viewport={"width": 1280, "height": 900}, **options
        )
        context.set_default_timeout(STEP_MS)
        contexts.append(context)
        page = await context.new_page()
        if persona is None:
            return page
        await page.goto("/ui/login")
        await page.get_by_role("link", name="Sign in with").first.click()
        await page.get_by_label("Login").fill(persona)
        await page.get_by_label("Password").fill(PASSWORDS[persona])
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("button", name="Sign out").wait_for()
        return page

    return visitor

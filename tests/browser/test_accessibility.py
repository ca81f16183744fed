"""axe-core on the main pages, each as the persona who uses it: no serious or critical
violation. With ``HSPM_UPDATE_SCREENSHOTS=1`` the same pass saves each page's screenshot
into ``docs/screenshots/`` (listed in ``docs/web-ui.md``)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Page

from tests.browser.conftest import SignIn

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SERIOUS = frozenset({"serious", "critical"})
pytestmark = pytest.mark.timeout(300)


async def _first_link(page: Page, pattern: str) -> str:
    """The first link on the page whose address matches ``pattern``."""
    for href in await page.locator("a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))"):
        if re.fullmatch(pattern, href or ""):
            return str(href)
    raise AssertionError(f"no link matching {pattern} on {page.url}")


async def _pages(sign_in: SignIn) -> list[tuple[str, Page, str]]:
    """(name, page, path) of each main page, with the persona who uses it."""
    anonymous = await sign_in(None, bypass_csp=True)
    await anonymous.goto("/ui/?q=Sepsis")
    product = await _first_link(anonymous, r"/ui/products/[0-9a-f-]{36}")
    await anonymous.goto(product)
    build = await _first_link(anonymous, r"/ui/products/[0-9a-f-]{36}/builds/[0-9a-f-]{36}")
    isv, operator = await sign_in("isv", bypass_csp=True), await sign_in("operator", bypass_csp=True)
    customer, auditor = await sign_in("customer", bypass_csp=True), await sign_in("auditor", bypass_csp=True)
    await isv.goto("/ui/vendor")
    manage = await _first_link(isv, r"/ui/vendor/products/[0-9a-f-]{36}")
    await operator.goto("/ui/operator?state=published")
    case = await _first_link(operator, r"/ui/operator/reviews/[0-9a-f-]{36}")
    await customer.goto("/ui/platforms")
    platform = await _first_link(customer, r"/ui/platforms/[0-9a-f-]{36}")
    return [
        ("catalog", anonymous, "/ui/"),
        ("product", anonymous, product),
        ("build", operator, build),
        ("sign-in", anonymous, "/ui/login"),
        ("vendor-products", isv, "/ui/vendor"),
        ("vendor-product", isv, manage),
        ("review-queue", operator, "/ui/operator?state=published"),
        ("review-case", operator, case),
        ("recalls", operator, "/ui/operator/recalls"),
        ("platforms", customer, "/ui/platforms"),
        ("platform", customer, platform),
        ("entitlements", customer, "/ui/entitlements"),
        ("usage-report", auditor, "/ui/reports"),
    ]


async def test_main_pages_have_no_serious_or_critical_violations(sign_in: SignIn) -> None:
    axe, found = Axe(), {}
    save = os.environ.get("HSPM_UPDATE_SCREENSHOTS") == "1"
    for name, page, path in await _pages(sign_in):
        await page.goto(path)
        results = await axe.run(page)
        serious = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
            for v in results.response["violations"]
            if v.get("impact") in SERIOUS
        ]
        if serious:
            found[name] = serious
        if save:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert found == {}

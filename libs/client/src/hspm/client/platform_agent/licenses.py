"""Licenses before deployment: a licensed product runs only under a valid offline document.

The platform team drops the documents the marketplace issued for its entitlements
(``GET /entitlements/{id}/license``) in ``documents_dir``; the agent verifies them with the
marketplace's public keys and no network (``hspm.client.offline``). A product is licensed
when it lists offers (``require = "auto"``, read from its public record) or always/never
by setting. Missing, expired, not yet valid, forged or revoked: the deployment is refused
with that reason. Otherwise the product is given the identifiers its own runtime check
needs, and the document itself (podman mounts it read-only).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hspm.client import offline
from hspm.client.platform_agent.catalog import Catalog, CatalogError
from hspm.client.platform_agent.config import LicenseSettings
from hspm.client.platform_agent.state import State

log = logging.getLogger(__name__)
LICENSE_FILE_IN_CONTAINER = "/run/hspm/license.json"


class LicenseRefused(Exception):
    """No valid license document covers the product; the message says why."""


@dataclass(frozen=True)
class Grant:
    """What a deployment of a licensed product is given."""

    env: dict[str, str]
    document_path: str


class Licenses:
    def __init__(self, settings: LicenseSettings, catalog: Catalog, state: State) -> None:
        self.settings = settings
        self.catalog = catalog
        self.state = state
        self._keys: offline.KeySet | None = None
        self._required: dict[str, bool] = {}

    async def grant(self, product_id: str) -> Grant | None:
        """None for an unlicensed product; a Grant, or LicenseRefused, for a licensed one."""
        if not await self.required(product_id):
            return None
        keys = await self.keys()
        reasons: list[str] = []
        best: tuple[offline.License, Path] | None = None
        for path in self._documents():
            found = self._verify(path, keys, product_id, reasons)
            if found is not None and (best is None or found.expires_at > best[0].expires_at):
                best = (found, path)
        if best is None:
            why = (
                "; ".join(reasons) or f"no license document in {self.settings.documents_dir or '(none set)'}"
            )
            raise LicenseRefused(f"product {product_id} is licensed and no valid document covers it: {why}")
        return _grant(*best)

    async def required(self, product_id: str) -> bool:
        mode = self.settings.require
        if mode in ("always", "never"):
            return mode == "always"
        if product_id not in self._required:
            try:
                product = await self.catalog.product(product_id)
            except CatalogError as exc:
                # Offline: a product the platform holds a document for is treated as licensed.
                log.warning("license.offers_unknown", extra={"product_id": product_id, "error": str(exc)})
                return any(self._covers(p, product_id) for p in self._documents())
            self._required[product_id] = bool(product.get("product_licenses"))
        return self._required[product_id]

    def forget(self, product_id: str | None = None) -> None:
        """Read offers again (an entitlement or offer changed)."""
        if product_id is None:
            self._required.clear()
        else:
            self._required.pop(product_id, None)

    async def keys(self) -> offline.KeySet:
        if self._keys is None:
            self._keys = offline.KeySet.from_jwks(await self._jwks())
        return self._keys

    async def _jwks(self) -> dict[str, Any]:
        path = Path(self.settings.keys_file) if self.settings.keys_file else None
        if path is not None and path.exists():
            data: dict[str, Any] = json.loads(path.read_text())
            return data
        jwks = await self.catalog.license_keys()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(jwks))
        return jwks

    def _documents(self) -> list[Path]:
        folder = Path(self.settings.documents_dir) if self.settings.documents_dir else None
        return sorted(folder.glob("*.json")) if folder is not None and folder.is_dir() else []

    def _covers(self, path: Path, product_id: str) -> bool:
        try:
            payload = json.loads(path.read_bytes()).get("payload", {})
        except (OSError, ValueError, AttributeError):
            return False
        return product_id in (payload.get("covers") or [])

    def _verify(
        self, path: Path, keys: offline.KeySet, product_id: str, reasons: list[str]
    ) -> offline.License | None:
        try:
            found = offline.verify(path.read_bytes(), keys)
        except offline.LicenseError as exc:
            if self._covers(path, product_id):
                reasons.append(f"{path.name}: {exc.code} ({exc})")
            return None
        except OSError as exc:
            reasons.append(f"{path.name}: unreadable ({exc})")
            return None
        if not found.covers(product_id):
            return None
        if str(found.entitlement_id) in self.state.revoked():
            reasons.append(f"{path.name}: entitlement {found.entitlement_id} was revoked")
            return None
        return found


def _grant(found: offline.License, path: Path) -> Grant:
    # Only what stays the same when a fresh document replaces an expiring one: a change
    # here is a new generation (a rollout); the document's own dates are in the file.
    env = {
        "HSPM_ENTITLEMENT_ID": str(found.entitlement_id),
        "HSPM_LICENSE_ID": str(found.license_id),
        "HSPM_LICENSEE_ID": str(found.licensee_id),
        "HSPM_LICENSE_FILE": LICENSE_FILE_IN_CONTAINER,
    }
    return Grant(env, str(path.resolve()))

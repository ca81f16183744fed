"""The marketplace.json body as documented in OpenAPI; ``schema.validate`` is what judges it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class MarketplaceDocument(BaseModel):
    """A build's ``marketplace.json`` (the spec's ``build.json`` schema)."""

    model_config = ConfigDict(extra="allow", title="MarketplaceDocument")
    marketplace_url: str
    product: dict[str, Any]
    configuration: list[dict[str, Any]]
    provenance: list[dict[str, Any]]


class ValidationReport(BaseModel):
    """Errors reject the document; warnings do not. Each issue has a JSON path and a rule."""

    valid: bool
    errors: list[dict[str, str]]
    warnings: list[dict[str, str]]

"""Catalog settings, from HSPM_* environment variables."""

from __future__ import annotations

from pydantic import Field

from hspm.common.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "catalog"
    http_port: int = 8082
    database_url: str = "postgresql://postgres@127.0.0.1:5432/hspm_catalog"
    # Uploaded images and build assets; the gateway's body limit applies first.
    max_image_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(25_000_000, ge=10_000)
    max_asset_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    # Search results each replica keeps (0: none); each is one page, reused only while
    # the catalog has not changed since it was read (migration 0008).
    search_cache_entries: int = Field(1024, ge=0, le=100_000)
    # Rendered products each replica keeps, in bytes of JSON (0: none); like search
    # results, each is served only while the catalog has not changed since it was read.
    product_cache_bytes: int = Field(16 * 1024 * 1024, ge=0, le=1024 * 1024 * 1024)

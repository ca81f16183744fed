"""Catalog settings, from HSPM_* environment variables."""

from __future__ import annotations

from pydantic import Field

from hspm.common.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "catalog"
    http_port: int = 8082
    database_url: str = "postgresql://postgres@127.0.0.1:5432/hspm_catalog"
    # PostgreSQL does its work on the same few cores: eight connections kept open saturate
    # them (thirty-two did no better, and with the other services' pools ran the server
    # out of its 100 connection slots under load: the bench's 500s). Requests beyond them
    # wait in line, first come, first served. One that would wait longer than 3 s (by its
    # place in line and the recent pace), or finds 128 already waiting, is answered 503
    # with Retry-After at once; one still waiting after 3 s, then (a stalled database).
    db_pool_min: int = Field(8, ge=0, le=200)
    db_pool_max: int = Field(8, ge=1, le=200)
    db_acquire_timeout: float = Field(3.0, gt=0)
    # Uploaded images and build assets; the gateway's body limit applies first.
    max_image_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(25_000_000, ge=10_000)
    max_asset_bytes: int = Field(8 * 1024 * 1024, ge=1024)

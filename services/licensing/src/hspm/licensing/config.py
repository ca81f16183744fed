"""Licensing settings, from HSPM_* environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr

from hspm.common.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "licensing"
    http_port: int = 8085
    database_url: str = "postgresql://postgres@127.0.0.1:5432/hspm_licensing"

    # Offline license documents are signed with this Ed25519 private key (PEM, PKCS#8).
    # Unset: the service signs nothing and says so (503) rather than invent a key.
    license_signing_key: SecretStr = SecretStr("")
    # Public keys of earlier signing keys (PEM, separated by blank lines or concatenated),
    # still published so documents they signed verify until they expire: key rotation.
    license_retired_public_keys: str = ""
    # How long an offline license document is valid at most; shorter when the
    # entitlement ends sooner. Agents fetch a fresh one before it runs out.
    offline_license_days: int = Field(30, ge=1, le=366)
    # How often the sweep looks for entitlements whose window closed (0: never).
    expiry_sweep_seconds: float = Field(60.0, ge=0)
    # Account-sharing suspicion: one claim used from more than this many distinct
    # addresses or platforms within the window.
    sharing_window_minutes: int = Field(60, ge=1)
    sharing_max_sources: int = Field(3, ge=1)

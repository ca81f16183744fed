"""The web UI's settings, from HSPM_* environment variables."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from hspm.common.config import ServiceSettings

MIN_SESSION_KEY_LENGTH = 32


class Settings(ServiceSettings):
    """``public_url`` (inherited) is the gateway as browsers reach it; ``api_url`` as we do."""

    service_name: str = "web"
    http_port: int = 8087
    # The gateway as this service reaches it (a private address in a deployment).
    api_url: str = "http://127.0.0.1:8080"
    # Encrypts the session cookie and signs CSRF tokens; every replica needs the same one.
    # Empty derives it from HSPM_INTERNAL_SECRET, so a stack with that one secret works.
    session_key: SecretStr = Field(default=SecretStr(""))
    # A browser session lasts no longer than the Marketplace's own session token.
    session_ttl_seconds: int = Field(86_400, ge=60)
    api_timeout: float = Field(10.0, gt=0)
    # Room for a screenshot or a marketplace.json upload passed on to the API, which has
    # its own limits and says so at the field.
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024)

    @field_validator("api_url", "public_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def cookie_secret(self) -> bytes:
        """The key material for the session cookie; refuses to run without enough of it."""
        key = self.session_key.get_secret_value() or self.internal_secret.get_secret_value()
        if len(key) < MIN_SESSION_KEY_LENGTH // 2:
            raise RuntimeError("HSPM_SESSION_KEY (or HSPM_INTERNAL_SECRET) must be set for the web UI")
        return key.encode()

    @property
    def ui_path(self) -> str:
        """The UI's path below the public origin (``/ui``; ``/market/ui`` behind a prefix)."""
        return urlsplit(self.public_url).path.rstrip("/") + "/ui"

    @property
    def secure_cookies(self) -> bool:
        """Cookies only over https whenever browsers reach the Marketplace over https."""
        return urlsplit(self.public_url).scheme == "https"

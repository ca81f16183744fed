"""Typed settings read once from UPPERCASE environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# HSPM_INTERNAL_SECRET is an HMAC key every service trusts: anything shorter is guessable.
MIN_INTERNAL_SECRET_LENGTH = 16


class ServiceSettings(BaseSettings):
    """Fields every service shares; each service subclasses it and adds its own.

    Every variable is prefixed ``HSPM_`` (``HSPM_DATABASE_URL``, ``HSPM_HTTP_PORT``...).
    The standard ``OTEL_*`` variables are read by the OpenTelemetry SDK itself.
    """

    model_config = SettingsConfigDict(env_prefix="HSPM_", extra="ignore", frozen=True)

    service_name: str = "hspm"
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)
    log_level: str = "info"
    # None means: JSON when stdout is not a terminal.
    log_json: bool | None = None

    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    # PostgreSQL does its work on the same few cores: eight connections kept open saturate
    # them (thirty-two did no better, and with the other services' pools ran the server
    # out of its 100 connection slots under load). Requests beyond them wait in line, first
    # come, first served. One that would wait longer than the acquire timeout (by its
    # place in line and the recent pace), or finds 128 already waiting, is answered 503
    # with Retry-After at once; one still waiting after it, then (a stalled database).
    # Opened at start (min = max), so the first burst after a restart finds them ready.
    db_pool_min: int = Field(8, ge=0, le=200)
    db_pool_max: int = Field(8, ge=1, le=200)
    db_acquire_timeout: float = Field(3.0, gt=0)
    # Only for deployments that keep migrations outside the package.
    migrations_dir: str | None = None

    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    # Names the exchange, queues and dead-letter queues; tests use a unique one each.
    amqp_namespace: str = "hspm"
    amqp_prefetch: int = Field(50, ge=1, le=1000)

    # The marketplace's public origin (the gateway), for the spec's absolute ``url`` fields.
    public_url: str = "http://127.0.0.1:8080"

    # Key the gateway signs internal principal assertions with; services verify them.
    # Unset is allowed here (tools and tests that verify nothing); a service that trusts
    # assertions calls ``require_internal_secret`` when it starts. Set, it must be long.
    internal_secret: SecretStr = Field(default=SecretStr(""))

    # HTTP drain; the consumer drains in parallel, so SIGTERM to exit stays under 10 s.
    shutdown_timeout: float = Field(5.0, gt=0, le=9)
    max_body_bytes: int = Field(1_048_576, ge=1024)

    @field_validator("internal_secret")
    @classmethod
    def _internal_secret_is_long_enough(cls, value: SecretStr) -> SecretStr:
        """Every service refuses to start with a short key, not only the gateway."""
        if 0 < len(value.get_secret_value()) < MIN_INTERNAL_SECRET_LENGTH:
            raise ValueError(f"HSPM_INTERNAL_SECRET must be at least {MIN_INTERNAL_SECRET_LENGTH} characters")
        return value

    def require_internal_secret(self) -> str:
        """The key, for a service that signs or verifies assertions; without one it cannot run."""
        secret = self.internal_secret.get_secret_value()
        if not secret:
            raise RuntimeError(
                f"HSPM_INTERNAL_SECRET must be set (at least {MIN_INTERNAL_SECRET_LENGTH} characters)"
            )
        return secret

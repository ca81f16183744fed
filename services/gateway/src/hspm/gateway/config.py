"""The gateway's settings: where each service lives, and the edge's limits."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from hspm.common.config import MIN_INTERNAL_SECRET_LENGTH, ServiceSettings
from hspm.gateway.forwarding.replicas import Replicas, parse_bases

# The services the gateway routes to, in the order their OpenAPI documents merge.
SERVICES = ("identity", "catalog", "curation", "licensing", "notifier", "web")


class Settings(ServiceSettings):
    """``HSPM_*`` variables; an empty ``HSPM_<SERVICE>_URL`` means "not deployed", and
    several URLs, comma separated, are the service's replicas (``forwarding/replicas.py``)."""

    service_name: str = "gateway"
    http_port: int = Field(8080, ge=0, le=65535)

    identity_url: str | None = "http://127.0.0.1:8081"
    catalog_url: str | None = "http://127.0.0.1:8082"
    curation_url: str | None = "http://127.0.0.1:8083"
    licensing_url: str | None = "http://127.0.0.1:8085"
    notifier_url: str | None = "http://127.0.0.1:8086"
    web_url: str | None = "http://127.0.0.1:8087"

    # Must equal identity's HSPM_PUBLIC_URL: tokens name it as their issuer.
    token_issuer: str = "http://127.0.0.1:8080"
    cors_origins: str = "*"
    # Peers whose X-Forwarded-For is believed (IPs or CIDRs, comma separated).
    trusted_proxies: str = ""

    rate_limit_per_minute: int = Field(1200, ge=1)
    rate_limit_burst: int = Field(200, ge=1)
    rate_limit_max_clients: int = Field(100_000, ge=100)

    principal_cache_seconds: float = Field(30.0, ge=0)
    upstream_timeout: float = Field(30.0, gt=0)
    # Proxied requests go through the lean keep-alive client (forwarding/upstream.py);
    # off sends them through the aiohttp client as before (ADR 16).
    lean_upstream: bool = True
    # An unknown key id refetches identity's JWKS at most this often (key rotation).
    jwks_refetch_seconds: float = Field(30.0, ge=0)
    openapi_cache_seconds: float = Field(60.0, ge=0)
    # /metrics is served only on this second, internal listener (never on the public
    # port); unset serves it nowhere. 0 picks a free port (tests).
    metrics_port: int | None = Field(None, ge=0, le=65535)
    # Empty: the same address as the public listener (HSPM_HTTP_HOST).
    metrics_host: str = ""
    # Serve /edge/auth on the internal listener, for an nginx auth_request in front
    # (deploy/nginx/, ADR 16).
    edge_auth: bool = False

    # Required here (the gateway signs with it); hspm.common.config enforces the length.
    internal_secret: SecretStr

    @field_validator(
        "identity_url",
        "catalog_url",
        "curation_url",
        "licensing_url",
        "notifier_url",
        "web_url",
        mode="before",
    )
    @classmethod
    def _blank_is_absent(cls, value: object) -> object:
        """An empty URL switches the service off; a trailing slash is dropped."""
        if isinstance(value, str):
            value = value.strip().rstrip("/")
            return value or None
        return value

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _blank_port_is_absent(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("internal_secret")
    @classmethod
    def _secret_is_set(cls, value: SecretStr) -> SecretStr:
        """Without it no service would believe the gateway; refuse to start."""
        if not value.get_secret_value():
            raise ValueError(
                f"HSPM_INTERNAL_SECRET must be set (at least {MIN_INTERNAL_SECRET_LENGTH} characters)"
            )
        return value

    def upstreams(self) -> dict[str, Replicas | None]:
        """Each service's replicas, ``None`` where it is not deployed."""
        found: dict[str, Replicas | None] = {}
        for name in SERVICES:
            value: str | None = getattr(self, f"{name}_url")
            bases = parse_bases(value) if value else ()
            found[name] = Replicas(bases) if bases else None
        return found

    def origins(self) -> frozenset[str]:
        """The CORS origins list; ``{"*"}`` allows any origin."""
        return frozenset(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())

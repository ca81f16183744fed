"""Identity settings, from HSPM_* environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr

from hspm.common.config import ServiceSettings


class Settings(ServiceSettings):
    """``public_url`` (from ServiceSettings) is the tokens' issuer and the OIDC callback's origin."""

    service_name: str = "identity"
    http_port: int = 8081
    database_url: str = "postgresql://postgres@127.0.0.1:5432/hspm_identity"
    # PEM of the EC P-256 key tokens are signed with; the public half is the JWKS.
    signing_key: SecretStr = Field(default=SecretStr(""))
    # Earlier public keys (PEM, concatenated) still published so old tokens verify.
    previous_public_keys: str = ""
    # Where a browser lands after login, with a one-time code in the fragment (#code=...)
    # that the UI trades for the token (POST /sessions/token); empty answers the callback
    # with JSON. The URL's own fragment, if any, is replaced.
    ui_url: str = ""
    # How long such a code may be traded for the token (it works once).
    login_code_ttl_seconds: int = Field(60, ge=5, le=600)
    session_ttl_seconds: int = Field(86_400, ge=60)
    api_token_max_days: int = Field(365, ge=1)
    oidc_refresh_seconds: int = Field(900, ge=0)
    oidc_login_ttl_seconds: int = Field(600, ge=30)

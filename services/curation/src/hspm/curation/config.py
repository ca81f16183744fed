"""Curation settings, from HSPM_* environment variables."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from hspm.common.config import ServiceSettings

# pydantic-settings decodes a list from the environment as JSON; operators write
# ``HSPM_POLICY_ALLOWED_REGISTRIES=registry.local:5000,10.0.0.5:5000`` instead.
CommaList = Annotated[list[str], NoDecode]


class Settings(ServiceSettings):
    service_name: str = "curation"
    http_port: int = 8083
    database_url: str = "postgresql://postgres@127.0.0.1:5432/hspm_curation"

    # The validation policy's starting point; after the first start the stored policy
    # (edited through PUT /validation_policy) is what counts.
    policy_allowed_registries: CommaList = []
    policy_insecure_registries: CommaList = []
    policy_required_labels: CommaList = ["org.opencontainers.image.title"]

    # Re-validate each product's latest published build this often; 0 switches it off.
    revalidate_interval_seconds: float = Field(86_400.0, ge=0)
    # A run with no report after this long is closed as an error (the request was lost).
    validation_timeout_seconds: float = Field(3_600.0, gt=0)

    # The fair queue (validations/queue.py): runs released to the validator and not yet
    # reported, at most (about the validators' parallel capacity, plus a little so none
    # idles); open manual runs and dry runs per requester and per product (staff are not
    # limited), and the Retry-After of the 429 that refuses one more.
    validation_max_in_flight: int = Field(8, ge=1)
    validation_max_open_per_requester: int = Field(3, ge=1)
    validation_max_open_per_product: int = Field(10, ge=1)
    validation_retry_after_seconds: int = Field(60, ge=1)

    @field_validator(
        "policy_allowed_registries", "policy_insecure_registries", "policy_required_labels", mode="before"
    )
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

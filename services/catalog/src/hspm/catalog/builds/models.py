"""Request bodies of builds and their packaging (pydantic, unknown fields refused)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hspm.catalog.builds import rules
from hspm.common.models import Input, Name

Short = Annotated[str, StringConstraints(max_length=200)]
Text = Annotated[str, StringConstraints(max_length=100_000)]
EnvKey = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9_]+$", max_length=200)]
Port = Annotated[int, Field(ge=1, le=65535)]
MiB = Annotated[int, Field(ge=1, le=2**31 - 1)]
Count = Annotated[int, Field(ge=0, le=2**31 - 1)]
Ordinal = Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]

# Rendered by the server, echoed back by clients that send whole objects: dropped.
_RENDERED = frozenset({"id", "created_at", "updated_at", "path", "url"})


# --- builds -----------------------------------------------------------------------------

# Curation's fields: a client can never set them, and echoing them back is harmless.
BUILD_READ_ONLY = _RENDERED | {
    "product_id",
    "status",
    "status_reason",
    "validated_at",
    "published_at",
    "withdrawn_at",
    "asset_available",
    "image",
}


class BuildFields(Input):
    software_version: Short | None = None
    ordinal: Ordinal | None = None
    container_registry: str | None = Field(None, max_length=255, pattern="^" + rules.REGISTRY.pattern + "$")
    # A repository path, or a full reference ``[registry/]repository[:tag][@digest]`` (the
    # reference model's only way to name a registry): the service splits it.
    container_repository: str | None = Field(None, max_length=512)
    container_tag: str | None = Field(None, pattern="^" + rules.TAG.pattern + "$")
    image_digest: str | None = Field(None, pattern="^" + rules.DIGEST.pattern + "$")
    release_notes: Text = ""
    permissions: dict[str, Any] = {}

    @field_validator("container_repository")
    @classmethod
    def _repository(cls, value: str | None) -> str | None:
        if value is not None and isinstance(problem := rules.split_image(value), str):
            raise ValueError(problem)
        return value


def _version(value: str | None) -> str | None:
    if value is not None and (problem := rules.version_problem(value)):
        raise ValueError(problem)
    return value


class BuildCreate(BuildFields):
    READ_ONLY = BUILD_READ_ONLY - {"id"}
    id: UUID | None = None
    version: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]

    _check_version = field_validator("version")(_version)


class BuildUpdate(BuildFields):
    READ_ONLY = BUILD_READ_ONLY
    version: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = (
        None
    )

    _check_version = field_validator("version")(_version)


# --- configurations and tasks -------------------------------------------------------------


class ConfigurationCreate(Input):
    READ_ONLY = frozenset({"build_id", "tasks"})
    id: UUID | None = None
    name: Name
    default: bool = False


class ConfigurationUpdate(Input):
    READ_ONLY = _RENDERED | {"build_id", "tasks"}
    name: Name | None = None
    default: bool | None = None


class EnvironmentVariable(BaseModel):
    """One injectable setting; values are always strings (spec §8.3).

    ``pattern`` is a regular expression in RE2 syntax
    (https://github.com/google/re2/wiki/Syntax) of at most ``rules.MAX_PATTERN_BYTES``
    (1024) bytes of UTF-8, which the whole value must match. RE2 matches in time linear in
    the value, so it has no backreferences (``\\1``), look-around (``(?=``, ``(?!``,
    ``(?<=``), possessive or atomic groups, and repetition counts are at most 1000; a
    pattern RE2 cannot compile is refused (422). ``default`` must match ``pattern``.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    key: EnvKey
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    required: bool = False
    pattern: str | None = None
    default: Annotated[str, StringConstraints(max_length=2000)] | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None and (problem := rules.pattern_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("default")
    @classmethod
    def _matches(cls, value: str | None, info: ValidationInfo) -> str | None:
        pattern = info.data.get("pattern")
        if value is not None and pattern and not rules.pattern_matches(pattern, value, whole=True):
            raise ValueError("does not match the pattern")
        return value


def _unalias_task(data: Any) -> Any:
    """The reference model's names (``label``, ``minimum``, ``maximum``, ``memory``) as ours."""
    return rules.unalias(data, rules.TASK_ALIASES)


class TaskFields(Input):
    """Task fields; bounds are checked against the field declared just before them.

    The packaging document's and the reference server's names are accepted too:
    ``label`` for ``name``, ``minimum``/``maximum`` for ``instances_minimum``/
    ``instances_maximum`` and ``memory`` for ``memory_maximum`` (``rules.TASK_ALIASES``).
    """

    READ_ONLY = _RENDERED | {"configuration_id"}
    name: Name
    memory_minimum: MiB | None = None
    memory_maximum: MiB | None = None
    instances_minimum: Count = 0
    instances_maximum: Count | None = None
    options: list[Annotated[str, StringConstraints(max_length=1000)]] = Field([], max_length=100)
    ports: list[Port] = Field([], max_length=100)
    cron: Annotated[str, StringConstraints(max_length=200)] | None = None
    environment: list[EnvironmentVariable] = Field([], max_length=500)

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        return _unalias_task(data)

    @field_validator("memory_maximum")
    @classmethod
    def _memory(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("memory_minimum")
        if value is not None and low is not None and low > value:
            raise ValueError("must be at least memory_minimum")
        return value

    @field_validator("instances_maximum")
    @classmethod
    def _instances(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("instances_minimum", 0)
        # 0 means unlimited, as the packaging schema's "default unlimited" allows.
        if value and low > value:
            raise ValueError("must be at least instances_minimum (or 0 for unlimited)")
        return value

    @field_validator("ports")
    @classmethod
    def _unique_ports(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a port")
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and (problem := rules.cron_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("environment")
    @classmethod
    def _unique_keys(cls, value: list[EnvironmentVariable]) -> list[EnvironmentVariable]:
        if len({v.key for v in value}) != len(value):
            raise ValueError("must not declare a key twice")
        return value


# A task's own fields, as stored, snapshotted for curation and merged on update.
TASK_FIELDS = tuple(TaskFields.model_fields)


class TaskCreate(TaskFields):
    READ_ONLY = TaskFields.READ_ONLY - {"id"}
    id: UUID | None = None


class TaskUpdate(Input):
    """Any task field (or its alias); the merged task is validated again as a whole."""

    READ_ONLY = TaskFields.READ_ONLY
    model_config = ConfigDict(extra="forbid")
    name: Any = None
    memory_minimum: Any = None
    memory_maximum: Any = None
    instances_minimum: Any = None
    instances_maximum: Any = None
    options: Any = None
    ports: Any = None
    cron: Any = None
    environment: Any = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        return _unalias_task(data)


# --- exposures, parameters, dependencies ---------------------------------------------------


class ExposureCreate(Input):
    READ_ONLY = frozenset({"build_id", "parameters", "interface"})
    id: UUID | None = None
    interface_id: UUID


class ExposureUpdate(Input):
    READ_ONLY = _RENDERED | {"build_id", "parameters", "interface"}
    interface_id: UUID


class ParameterCreate(Input):
    READ_ONLY = frozenset({"exposure_id"})
    id: UUID | None = None
    name: EnvKey
    required: bool = True


class ParameterUpdate(Input):
    READ_ONLY = _RENDERED | {"exposure_id"}
    name: EnvKey | None = None
    required: bool | None = None


class DependencyFields(Input):
    """Needs an interface, or a product (optionally pinned to some of its builds)."""

    READ_ONLY = _RENDERED | {"build_id"}
    interface_id: UUID | None = None
    product_id: UUID | None = None
    build_ids: list[UUID] = Field([], max_length=1000)
    name: Short | None = None
    required: bool = True
    mappings: dict[str, Any] = {}

    @field_validator("build_ids")
    @classmethod
    def _pinned_to_product(cls, value: list[UUID], info: ValidationInfo) -> list[UUID]:
        if value and info.data.get("product_id") is None:
            raise ValueError("needs product_id: builds are pinned within a product")
        return value


DEPENDENCY_FIELDS = tuple(DependencyFields.model_fields)


class DependencyCreate(DependencyFields):
    READ_ONLY = DependencyFields.READ_ONLY - {"id"}
    id: UUID | None = None


class DependencyUpdate(Input):
    """Any dependency field; the merged dependency is validated again as a whole."""

    READ_ONLY = DependencyFields.READ_ONLY
    interface_id: Any = None
    product_id: Any = None
    build_ids: Any = None
    name: Any = None
    required: Any = None
    mappings: Any = None

"""The agent's settings: a TOML file, then ``HSPM_AGENT_*`` environment variables over it.

Every setting has an environment name: ``HSPM_AGENT_`` and its path in upper case, so
``platform_id`` is ``HSPM_AGENT_PLATFORM_ID`` and ``[podman] network`` is
``HSPM_AGENT_PODMAN_NETWORK``. Tables (``environment``, ``products``, ``recall_policy``)
are given as JSON in the environment. Read once at start, then passed down.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

PREFIX = "HSPM_AGENT_"
DRIVERS = ("podman", "kubernetes", "compose")
RECALL_ACTIONS = ("notify", "upgrade", "stop")
DEFAULT_RECALL_POLICY = {"critical": "stop", "high": "upgrade", "moderate": "upgrade", "low": "notify"}
T = TypeVar("T")


class ConfigError(ValueError):
    """A setting is missing or has a value the agent cannot use."""


@dataclass
class PodmanSettings:
    binary: str = "podman"
    # Storage of the agent's own, so its containers and images are apart from others'.
    root: str = ""
    runroot: str = ""
    storage_driver: str = "vfs"
    runtime: str = "runc"
    # slirp4netns publishes ports on ``publish_host`` without touching the host's firewall.
    network: str = "slirp4netns:allow_host_loopback=false"
    publish_host: str = "127.0.0.1"
    # Registries reached over plain HTTP (a local registry); others need TLS.
    insecure_registries: list[str] = field(default_factory=list)
    ulimit_nofile: int = 1024
    ulimit_nproc: int = 1024


@dataclass
class KubernetesSettings:
    output_dir: str = ""
    namespace: str = "hspm"
    # Apply to a cluster when a context or kubeconfig is given; otherwise only write files.
    context: str = ""
    kubeconfig: str = ""
    kubectl: str = "kubectl"


@dataclass
class ComposeSettings:
    output_dir: str = ""
    publish_host: str = "127.0.0.1"


@dataclass
class LicenseSettings:
    # Offline license documents (``*.json``), one per entitlement, as the marketplace issues them.
    documents_dir: str = ""
    # The marketplace's signing keys as a JWK set file; fetched and kept there when absent.
    keys_file: str = ""
    # "auto": licensed when the product lists offers; "always"/"never" for air-gapped sites.
    require: str = "auto"


@dataclass
class AgentConfig:
    marketplace_url: str = ""
    platform_id: str = ""
    key_id: str = ""
    key_file: str = ""
    notifier_urls: list[str] = field(default_factory=list)
    state_dir: str = "/var/lib/hspm-agent"
    driver: str = "podman"
    name: str = "hspm-agent"
    resync_seconds: float = 60.0
    health_timeout_seconds: float = 60.0
    stop_timeout_seconds: int = 15
    listen: str = "127.0.0.1:9465"
    log_level: str = "info"
    log_json: bool = True
    # Values for the variables builds declare, for every product; ``products`` overrides
    # them per product id: {"<product id>": {"KEY": "value"}}.
    environment: dict[str, str] = field(default_factory=dict)
    products: dict[str, dict[str, str]] = field(default_factory=dict)
    # Per severity; a table in the file or the environment changes the severities it
    # names and keeps the defaults of the others.
    recall_policy: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_RECALL_POLICY))
    podman: PodmanSettings = field(default_factory=PodmanSettings)
    kubernetes: KubernetesSettings = field(default_factory=KubernetesSettings)
    compose: ComposeSettings = field(default_factory=ComposeSettings)
    licenses: LicenseSettings = field(default_factory=LicenseSettings)

    @property
    def websocket_urls(self) -> list[str]:
        if self.notifier_urls:
            return list(self.notifier_urls)
        base = self.marketplace_url.rstrip("/")
        return [base.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "/websocket"]

    def values_for(self, product_id: str) -> dict[str, str]:
        """The platform's variable values for one product: the shared ones, then its own."""
        return {**self.environment, **self.products.get(product_id, {})}

    def check(self) -> None:
        for name in ("marketplace_url", "platform_id", "key_id", "key_file"):
            if not getattr(self, name):
                raise ConfigError(f"{name} is required (or {PREFIX}{name.upper()})")
        if self.driver not in DRIVERS:
            raise ConfigError(f"driver must be one of {', '.join(DRIVERS)}")
        unknown = set(self.recall_policy) - set(DEFAULT_RECALL_POLICY)
        if unknown:
            known, named = ", ".join(DEFAULT_RECALL_POLICY), ", ".join(sorted(unknown))
            raise ConfigError(f"recall_policy severities are {known}: {named}")
        bad = {k: v for k, v in self.recall_policy.items() if v not in RECALL_ACTIONS}
        if bad:
            raise ConfigError(f"recall_policy actions must be {', '.join(RECALL_ACTIONS)}: {bad}")


def load(path: Path | None = None, environ: Mapping[str, str] | None = None) -> AgentConfig:
    """The file's settings (if any), each overridden by its environment variable."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
    config = build(AgentConfig, data, PREFIX, os.environ if environ is None else environ)
    config.recall_policy = {**DEFAULT_RECALL_POLICY, **config.recall_policy}
    config.check()
    return config


def build(cls: type[T], data: Mapping[str, Any], prefix: str, environ: Mapping[str, str]) -> T:
    """An instance of dataclass ``cls`` from ``data`` with ``prefix``-named environment overrides."""
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        kind = hints[f.name]
        env_name = prefix + f.name.upper()
        if dataclasses.is_dataclass(kind):
            values[f.name] = build(kind, data.get(f.name, {}), env_name + "_", environ)  # type: ignore[arg-type]
        elif env_name in environ:
            values[f.name] = _coerce(kind, environ[env_name], env_name)
        elif f.name in data:
            values[f.name] = _checked(kind, data[f.name], f.name)
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise ConfigError(f"unknown settings: {', '.join(sorted(unknown))}")
    return cls(**values)


def _origin(kind: Any) -> Any:
    return getattr(kind, "__origin__", kind)


def _coerce(kind: Any, text: str, name: str) -> Any:
    origin = _origin(kind)
    try:
        if origin is bool:
            if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("1", "true", "yes")
        if origin in (int, float, str):
            return origin(text)
        if origin is list and not text.lstrip().startswith("["):
            return [part.strip() for part in text.split(",") if part.strip()]
        return _checked(kind, json.loads(text), name)
    except (ValueError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{name}: {text!r} is not a valid {getattr(origin, '__name__', origin)}") from exc


def _checked(kind: Any, value: Any, name: str) -> Any:
    origin = _origin(kind)
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, origin) or (isinstance(value, bool) and origin is not bool):
        raise ConfigError(f"{name} must be a {getattr(origin, '__name__', origin)}")
    if origin is dict:
        return {str(k): _checked_value(v, f"{name}.{k}") for k, v in value.items()}
    return value


def _checked_value(value: Any, name: str) -> Any:
    # Variable values are strings (spec 8.3); per-product tables hold such values.
    if isinstance(value, dict):
        return {str(k): _checked_value(v, f"{name}.{k}") for k, v in value.items()}
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string")
    return value

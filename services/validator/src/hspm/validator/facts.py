"""What the static phase learns about an image and hands to the sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The label naming the HTTP path that answers when the product is healthy: the static rule
# accepts it in place of a HEALTHCHECK, and the sandbox probes it.
HEALTH_LABEL = "org.hl7.hspm.health-path"


@dataclass(frozen=True)
class Target:
    """A normalized image reference: where to connect and what to ask for."""

    registry: str  # host[:port], as contacted
    scheme: str  # "https", or "http" for an operator-listed insecure registry
    repository: str  # path inside the registry (docker.io's "library/" added)
    reference: str  # a tag or a sha256 digest

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.registry}"

    def __str__(self) -> str:
        sep = "@" if self.reference.startswith("sha256:") else ":"
        return f"{self.registry}/{self.repository}{sep}{self.reference}"


@dataclass
class ImageFacts:
    """The resolved linux/amd64 image: its manifest digest, config document and layers.

    ``layout`` is an OCI image layout directory holding the verified blobs, with an OCI
    manifest tagged ``img`` over them, ready for ``umoci unpack --image <layout>:img``.
    """

    target: Target
    digest: str
    media_type: str
    config: dict[str, Any]
    layers: list[dict[str, Any]]
    index_digest: str | None = None
    platforms: list[str] = field(default_factory=list)
    layout: Path | None = None

    @property
    def container(self) -> dict[str, Any]:
        section = self.config.get("config")
        return section if isinstance(section, dict) else {}

    @property
    def architecture(self) -> str:
        return str(self.config.get("architecture", ""))

    @property
    def env(self) -> list[str]:
        return [str(e) for e in self.container.get("Env") or []]

    @property
    def user(self) -> str:
        return str(self.container.get("User") or "")

    @property
    def exposed_ports(self) -> set[int]:
        ports = set()
        for key in self.container.get("ExposedPorts") or {}:
            number, _, proto = str(key).partition("/")
            if number.isdigit() and proto in ("", "tcp"):
                ports.add(int(number))
        return ports

    @property
    def entrypoint(self) -> list[str]:
        return [str(a) for a in (self.container.get("Entrypoint") or [])]

    @property
    def cmd(self) -> list[str]:
        return [str(a) for a in (self.container.get("Cmd") or [])]

    @property
    def healthcheck(self) -> list[str] | None:
        check = self.container.get("Healthcheck")
        test = check.get("Test") if isinstance(check, dict) else None
        return [str(t) for t in test] if isinstance(test, list) and test and test[0] != "NONE" else None

    @property
    def labels(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.container.get("Labels") or {}).items()}

    @property
    def stop_signal(self) -> str | None:
        signal = self.container.get("StopSignal")
        return str(signal) if signal else None

    @property
    def working_dir(self) -> str:
        return str(self.container.get("WorkingDir") or "/")

    def summary(self) -> dict[str, Any]:
        """The image facts a report shows (no environment values: they may be secrets)."""
        return {
            "reference": str(self.target),
            "digest": self.digest,
            "index_digest": self.index_digest,
            "media_type": self.media_type,
            "platforms": self.platforms,
            "architecture": self.architecture,
            "user": self.user,
            "env_names": [e.partition("=")[0] for e in self.env],
            "exposed_ports": sorted(self.exposed_ports),
            "entrypoint": self.entrypoint,
            "cmd": self.cmd,
            "healthcheck": self.healthcheck,
            "labels": self.labels,
            "stop_signal": self.stop_signal,
            "layers": len(self.layers),
            "compressed_bytes": sum(int(layer.get("size", 0)) for layer in self.layers),
        }

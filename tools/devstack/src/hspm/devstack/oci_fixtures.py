"""pytest plugin: a real ``docker-registry`` on loopback holding the sample images.

Session-scoped: one registry process and one push of every sample per test run. In CI
(``CI=true``) a missing ``docker-registry`` or busybox fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hspm.common.testing import unavailable


@dataclass(frozen=True)
class PushedSamples:
    """Where the samples are: ``host`` (``127.0.0.1:port``), and each name's digest."""

    host: str
    url: str
    digests: dict[str, str]
    prefix: str = "samples"
    tag: str = "1"

    def repository(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def reference(self, name: str) -> str:
        return f"{self.host}/{self.prefix}/{name}:{self.tag}"


@pytest.fixture(scope="session")
def oci_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A started :class:`hspm.devstack.registry.LocalRegistry` on a free loopback port."""
    from hspm.devstack import registry
    from hspm.devstack.stack import free_port

    if not registry.available():
        unavailable("docker-registry is not installed (make deps installs it)")
    reg = registry.LocalRegistry(Path(tmp_path_factory.mktemp("registry")), free_port())
    reg.start()
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def sample_images(oci_registry: object) -> PushedSamples:
    """Every sample of :mod:`hspm.devstack.images`, pushed as ``samples/<name>:1``."""
    from hspm.devstack import images
    from hspm.devstack.registry import LocalRegistry

    assert isinstance(oci_registry, LocalRegistry)
    if not images.have_busybox():
        unavailable("busybox-static is not installed (make deps installs it)")
    digests = asyncio.run(images.push_samples(oci_registry.url))
    return PushedSamples(oci_registry.host, oci_registry.url, digests)

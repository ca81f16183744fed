"""Drivers: podman runs containers, kubernetes and compose render (and may apply) manifests."""

from __future__ import annotations

from hspm.client.platform_agent.config import AgentConfig
from hspm.client.platform_agent.drivers.base import Driver, Health, Unit

__all__ = ["Driver", "Health", "Unit", "make_driver"]


def make_driver(config: AgentConfig) -> Driver:
    """The driver ``config.driver`` names, set up from its own settings."""
    if config.driver == "kubernetes":
        from hspm.client.platform_agent.drivers.kubernetes import KubernetesDriver

        return KubernetesDriver(config)
    if config.driver == "compose":
        from hspm.client.platform_agent.drivers.compose import ComposeDriver

        return ComposeDriver(config)
    from hspm.client.platform_agent.drivers.podman import PodmanDriver

    return PodmanDriver(config)

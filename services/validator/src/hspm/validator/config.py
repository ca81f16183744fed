"""Validator settings, from HSPM_* environment variables."""

from __future__ import annotations

from pydantic import Field

from hspm.common.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "validator"
    http_port: int = 8084
    # Runs at once; each holds an unpacked image and a sandbox. Also the queue prefetch.
    max_parallel: int = Field(2, ge=1, le=64)
    # Scratch space per run (blobs, bundle, overlay); removed when the run ends. Empty:
    # a directory under the system's temporary directory.
    work_dir: str = ""
    # The sandbox's cgroup parent (v1 hierarchies, or a v2 subtree), one child per run.
    cgroup_parent: str = "hspm-validator"
    runc: str = "runc"
    umoci: str = "umoci"
    # Set false to judge images statically only (hosts without root or runc say why anyway).
    sandbox: bool = True
    registry_timeout: float = Field(30.0, gt=0)
    # Observe a healthy container this long before stopping it (memory hogs, late crashes).
    soak_seconds: float = Field(1.5, ge=0)
    # The whole run's budget; a run that exceeds it is reported as an error.
    run_timeout: float = Field(180.0, gt=0)

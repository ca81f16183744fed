"""Rendering the Kubernetes overlays once per session, the way an operator does.

The dev overlay reads its secrets from files the developer writes and never commits, so
it is rendered from a copy of ``deploy/kubernetes`` with throwaway values written there:
the working tree is never touched, and the tests know exactly which values are secret
and must appear nowhere but in a Secret.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
KUSTOMIZE_ROOT = REPO / "deploy" / "kubernetes"

# Distinctive, so a leak anywhere in a rendered object is found by a plain search.
DEV_SECRETS = {
    "POSTGRES_PASSWORD": "pg-throwaway-0b7e51c2",
    "RABBITMQ_PASSWORD": "mq-throwaway-9f3d20a4",
    "HSPM_INTERNAL_SECRET": "internal-throwaway-5c81e6f0d2",
}
DEV_SANDBOX_SECRETS = {"RABBITMQ_PASSWORD": DEV_SECRETS["RABBITMQ_PASSWORD"]}
KEY_MARKERS = {
    "identity-signing-key.pem": "signing-throwaway-77aa41e3",
    "license-signing-key.pem": "license-throwaway-2d6c93b8",
}
SECRET_MARKERS = frozenset([*DEV_SECRETS.values(), *KEY_MARKERS.values()])


def pem(marker: str) -> str:
    """PEM-shaped, several lines: what an env file could not carry."""
    return f"-----BEGIN PRIVATE KEY-----\n{marker}\n-----END PRIVATE KEY-----\n"


@dataclass(frozen=True)
class Rendered:
    """One overlay's objects, and the secret values its render was given (if any)."""

    overlay: str
    docs: list[dict[str, Any]]
    secret_values: frozenset[str]


def kubectl() -> str:
    """Debian's kubectl renders kustomizations by itself; without it nothing here can run."""
    found = shutil.which("kubectl")
    if found is None:
        pytest.skip("kubectl is not installed (apt-get install kubectl): the manifests cannot be rendered")
    return found


def kustomize(directory: Path) -> subprocess.CompletedProcess[str]:
    """``kubectl kustomize DIR``, exactly as docs/kubernetes.md tells operators to run it."""
    return subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )


def load(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def write_env(path: Path, values: dict[str, str]) -> None:
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))


def copy_tree(tmp: Path) -> Path:
    """A private copy of deploy/kubernetes, minus any secret a developer has written."""
    root = tmp / "kubernetes"
    shutil.copytree(KUSTOMIZE_ROOT, root)
    shutil.rmtree(root / "overlays" / "dev" / "secrets", ignore_errors=True)
    return root


def render(directory: Path, overlay: str, secrets: frozenset[str] = frozenset()) -> Rendered:
    done = kustomize(directory)
    assert done.returncode == 0, f"kubectl kustomize {directory} failed:\n{done.stderr}"
    return Rendered(overlay, load(done.stdout), secrets)


@pytest.fixture
def bare_tree(tmp_path: Path) -> Path:
    """A copy as it is committed: the dev overlay's env files not yet written."""
    return copy_tree(tmp_path)


@pytest.fixture(scope="session")
def run_kustomize() -> Callable[[Path], subprocess.CompletedProcess[str]]:
    return kustomize


@pytest.fixture(scope="session")
def kube_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The copy with the dev overlay's secret files written, as a developer would."""
    root = copy_tree(tmp_path_factory.mktemp("k8s"))
    secrets = root / "overlays" / "dev" / "secrets"
    secrets.mkdir()
    write_env(secrets / "hspm.env", DEV_SECRETS)
    write_env(secrets / "sandbox.env", DEV_SANDBOX_SECRETS)
    for name, marker in KEY_MARKERS.items():
        (secrets / name).write_text(pem(marker))
    return root


@pytest.fixture(scope="session")
def rendered(kube_tree: Path) -> dict[str, Rendered]:
    """Every overlay, and the base alone, rendered once."""
    return {
        "base": render(kube_tree / "base", "base"),
        "dev": render(kube_tree / "overlays" / "dev", "dev", SECRET_MARKERS),
        "production": render(kube_tree / "overlays" / "production", "production"),
    }

"""A customer's platform with its Platform Agent, for the main flow's driver.

The agent is ``hspm agent run`` as a real process with the compose driver (one rendered
file per instance: no container engine needed, so many agents fit on one machine). Its
state file is read directly to prove what it applied; the license documents the customer
downloads go into its ``documents_dir`` as a platform team would put them there.
"""

from __future__ import annotations

import base64
import signal
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.devstack.stack import free_port

STOP_TIMEOUT = 30.0


@dataclass
class AgentState:
    """What the agent's own state file says it applied."""

    deployments: dict[str, str] = field(default_factory=dict)  # instance id -> fingerprint
    recalls: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # id -> applied, acked


class FlowAgent:
    """``hspm agent run`` for one platform, with a folder of its own under ``root``."""

    def __init__(self, root: Path, gateway_url: str, platform_id: str, key_id: str, key: bytes) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.documents = root / "licenses"
        self.documents.mkdir(exist_ok=True)
        self.listen = f"127.0.0.1:{free_port()}"
        self.log = root / "agent.log"
        key_file = root / "agent.key"
        key_file.write_text(base64.b64encode(key).decode())
        key_file.chmod(0o600)
        self.config = root / "agent.toml"
        # A short resync keeps the periodic pass within a soak's time; "stop" for critical
        # recalls makes the recall's effect visible in the agent's state and the report.
        self.config.write_text(
            f"""
marketplace_url = "{gateway_url}"
platform_id = "{platform_id}"
key_id = "{key_id}"
key_file = "{key_file}"
state_dir = "{root / "state"}"
driver = "compose"
listen = "{self.listen}"
resync_seconds = 10
[licenses]
documents_dir = "{self.documents}"
[recall_policy]
critical = "stop"
"""
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the process (again); a running one is left alone."""
        if self.running:
            return
        argv = [sys.executable, "-m", "hspm.client.cli", "agent", "run", "--config", str(self.config)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True)
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would: the agent's socket drops with it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after the grace; the exit code (None if never started)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(STOP_TIMEOUT)

    def add_license(self, entitlement_id: str, document: bytes) -> None:
        path = self.documents / f"{entitlement_id}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_bytes(document)
        temporary.replace(path)

    def state(self) -> AgentState:
        """The agent's applied state, read from its SQLite file (WAL: readers never block it)."""
        found = AgentState()
        path = self.root / "state" / "agent.db"
        if not path.exists():
            return found
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            for instance_id, fingerprint in db.execute("SELECT instance_id, fingerprint FROM deployments"):
                found.deployments[instance_id] = fingerprint
            for recall_id, applied, acked in db.execute("SELECT id, applied_at, acked_at FROM recalls"):
                found.recalls[recall_id] = (applied, acked)
        finally:
            db.close()
        return found

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def new_key() -> tuple[bytes, str]:
    """A new Ed25519 key: its raw private bytes and its public key in base64."""
    key = ed25519.Ed25519PrivateKey.generate()
    public = base64.b64encode(key.public_key().public_bytes_raw()).decode()
    return key.private_bytes_raw(), public


def describe(state: AgentState) -> dict[str, Any]:
    return {"deployments": state.deployments, "recalls": state.recalls}

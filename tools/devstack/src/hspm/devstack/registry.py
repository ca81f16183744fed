"""A local OCI registry: Debian's ``docker-registry`` (distribution v2) on loopback."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

BINARY = "docker-registry"
CONFIG = """version: 0.1
log: {{level: warn, formatter: text}}
storage:
  filesystem: {{rootdirectory: {root}}}
  delete: {{enabled: true}}
http:
  addr: {addr}
  secret: hspm-local-registry-not-a-secret
"""


def available() -> bool:
    return shutil.which(BINARY) is not None


class LocalRegistry:
    """Start, wait for ``/v2/`` and stop one registry process with its storage in ``root``."""

    def __init__(self, root: Path, port: int, log: Path | None = None) -> None:
        self.root = root
        self.port = port
        self.log = log or root / "registry.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self, timeout: float = 10.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text(CONFIG.format(root=self.root / "data", addr=self.host))
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [BINARY, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited ({self.process.returncode}); see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/v2/", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"docker-registry did not answer on {self.url} in {timeout} s")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

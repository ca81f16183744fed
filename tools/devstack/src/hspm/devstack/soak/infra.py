"""A private PostgreSQL and a private RabbitMQ node, each in a temporary folder.

The soak kills and restarts them; being its own, nothing else on the machine notices.
PostgreSQL refuses to run as root, so on a root machine it runs as the ``postgres`` user
(its folder handed over to it). RabbitMQ runs from its own scripts (not the packaged
wrapper, which would switch to the system's rabbitmq user and its files), with its own
node name, ports, cookie (``HOME``), data, logs and no plugins.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import time
from glob import glob
from pathlib import Path

from hspm.devstack.stack import free_port

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
START_TIMEOUT = 60.0
PG_MAX_CONNECTIONS = 300


def _pg_bin() -> Path:
    found = sorted(glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
    return Path(found[-1]).parent


def _as_postgres() -> list[str]:
    """The prefix that runs a command as ``postgres`` when we are root (it refuses root)."""
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


class PrivatePostgres:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self.bin = _pg_bin()
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}"

    def _run(self, *argv: str, timeout: float = START_TIMEOUT) -> None:
        done = subprocess.run([*_as_postgres(), *argv], capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(argv[0]).name}: {done.returncode} {done.stdout} {done.stderr}"[-2000:])

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            # The postgres user must pass through the soak's private folder to reach its own.
            self.root.parent.chmod(0o711)
        initdb = str(self.bin / "initdb")
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        # Crash safety as in production (fsync stays on); sockets only on loopback TCP.
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{self.root}'"
            f" -c max_connections={PG_MAX_CONNECTIONS}"
        )
        log = str(self.root / "postgres.log")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def crash(self) -> None:
        """Stop as a crash does: no checkpoint, the next start replays the WAL."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def restart(self) -> None:
        self.crash()
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError, RuntimeError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


class PrivateRabbit:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"hspm_soak_{self.port}@localhost"
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def env(self) -> dict[str, str]:
        r = self.root
        return {
            **os.environ,
            "HOME": str(r),  # the Erlang cookie: ours, shared with rabbitmqctl below
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(r / "mnesia"),
            "RABBITMQ_LOG_BASE": str(r / "log"),
            "RABBITMQ_PID_FILE": str(r / "rabbit.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(r / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(r / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(r / "rabbitmq-env.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(r / "advanced.config"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def init(self) -> None:
        r = self.root
        for folder in ("mnesia", "log"):
            (r / folder).mkdir(parents=True, exist_ok=True)
        (r / "enabled_plugins").write_text("[].\n")
        (r / "rabbitmq.conf").write_text("loopback_users = none\n")
        (r / "rabbitmq-env.conf").write_text("")
        (r / "advanced.config").write_text("[].\n")

    def start(self) -> None:
        log = (self.root / "server.out").open("ab")
        argv = [str(RABBIT_BIN / "rabbitmq-server")]
        self.process = subprocess.Popen(
            argv, env=self.env(), stdout=log, stderr=log, start_new_session=True, cwd=self.root
        )
        log.close()
        self._await_node()

    def _await_node(self) -> None:
        """``await_startup`` once the node has registered (before that it fails at once)."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"rabbitmq-server exited with {self.process.returncode}; see {self.root}")
            try:
                self.ctl("await_startup", timeout=START_TIMEOUT)
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.5)

    def ctl(self, *args: str, timeout: float = 30.0) -> str:
        argv = [str(RABBIT_BIN / "rabbitmqctl"), "-n", self.node, *args]
        done = subprocess.run(
            argv, env=self.env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {args[0]}: {done.returncode} {done.stdout} {done.stderr}"[-2000:]
            )
        return done.stdout

    def kill(self) -> None:
        """SIGKILL the node's whole process group, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def restart(self) -> None:
        self.kill()
        self.start()
        self.restarts += 1

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(subprocess.SubprocessError, RuntimeError, OSError):
            self.ctl("stop", timeout=30)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self.kill()

    def queue_depths(self, prefix: str) -> dict[str, int]:
        """Messages in each queue whose name starts with ``prefix``."""
        out = self.ctl("list_queues", "-q", "--no-table-headers", "name", "messages")
        depths = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].startswith(prefix):
                depths[parts[0]] = int(parts[1])
        return depths


def sweep_sandboxes(root: Path) -> int:
    """Remove the runc sandboxes a SIGKILLed validator left running (their bundles are in its
    work folder, under ``root``); how many there were. Nothing of the validator's own code
    runs on SIGKILL, and a new validator process does not look for its predecessor's."""
    runc = shutil.which("runc")
    if runc is None:
        return 0
    listed = subprocess.run([runc, "list", "--format", "json"], capture_output=True, text=True, check=False)
    if listed.returncode != 0 or not listed.stdout.strip():
        return 0
    left = [
        c["id"] for c in json.loads(listed.stdout) or [] if str(c.get("bundle", "")).startswith(str(root))
    ]
    for cid in left:
        subprocess.run([runc, "delete", "--force", cid], capture_output=True, timeout=30, check=False)
    return len(left)


def remove(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)


async def in_thread_timed(action: object) -> float:
    """Run a blocking ``action`` off the event loop; the seconds it took."""
    started = time.monotonic()
    await asyncio.to_thread(action)  # type: ignore[arg-type]
    return time.monotonic() - started

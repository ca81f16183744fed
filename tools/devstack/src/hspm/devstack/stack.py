"""Start, watch and stop the marketplace's processes; shared by ``make up`` and system tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from hspm.devstack.images import push_demo_images
from hspm.devstack.private import write_private
from hspm.devstack.registry import LocalRegistry
from hspm.devstack.registry import available as registry_available
from hspm.devstack.seed_identity import BOOTSTRAP_NAME, LocalProvider, seed_identity

REPO = Path(__file__).resolve().parents[5]
OIDC_DIR = REPO / "tools" / "oidc-provider"
OIDC_CLIENT_ID = "hspm-marketplace"
STOP_GRACE_SECONDS = 10.0
# identity's operator commands (``generate-key``, ``create-admin``): the devstack sets
# identity up as an operator would, with identity's own tools, and imports none of it.
IDENTITY_CLI = ("-m", "hspm.identity.cli")
IDENTITY_CLI_TIMEOUT = 120.0


@dataclass(frozen=True)
class ServiceSpec:
    """One marketplace service: its module, its port and whether it owns a database."""

    name: str
    port: int
    database: bool = True


# Services the gateway routes to but this repository does not run yet: an empty URL
# tells the gateway so, and it answers 503 "not available" instead of trying a port.
NOT_YET_BUILT: tuple[str, ...] = ()

# Later services join by adding a line here (and leaving NOT_YET_BUILT).
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("identity", 8081),
    ServiceSpec("catalog", 8082),
    ServiceSpec("curation", 8083),
    ServiceSpec("validator", 8084, database=False),
    ServiceSpec("licensing", 8085),
    ServiceSpec("notifier", 8086),
    ServiceSpec("web", 8087, database=False),
    ServiceSpec("gateway", 8080, database=False),
)
IDENTITY = next(s for s in SERVICES if s.name == "identity")
ALL_PARTS = ("registry", "oidc", *(s.name for s in SERVICES))
REGISTRY_PORT = 5000
# The web UI's page that finishes a browser's sign-in (identity's HSPM_UI_URL).
UI_LANDING = "/ui/login/done"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class StackConfig:
    """Everything that differs between ``make up`` and a test's private stack."""

    state_dir: Path
    ports: dict[str, int]
    oidc_port: int = 9090
    registry_port: int = REGISTRY_PORT
    database_prefix: str = "hspm"
    amqp_namespace: str = "hspm"
    pg_url: str = "postgresql://postgres@127.0.0.1:5432"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    extra_env: dict[str, str] = field(default_factory=dict)
    log_json: bool = True
    # Processes per service. The system tests run two of each, so every service proves
    # itself safe with replicas (shared queues, caches, streams, migrations under a lock).
    replicas: int = 1
    # Ports of the replicas after the first (the first is ``ports``), made by ``isolated``.
    more_ports: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def default(cls, state_dir: Path) -> StackConfig:
        return cls(state_dir=state_dir, ports={s.name: s.port for s in SERVICES})

    @classmethod
    def isolated(cls, state_dir: Path, tag: str, replicas: int = 1) -> StackConfig:
        """Free ports, own databases and AMQP namespace: runs beside ``make up``."""
        return cls(
            state_dir=state_dir,
            ports={s.name: free_port() for s in SERVICES},
            oidc_port=free_port(),
            registry_port=free_port(),
            database_prefix=f"hspm_{tag}",
            amqp_namespace=f"hspm_{tag}",
            replicas=replicas,
            more_ports={s.name: [free_port() for _ in range(replicas - 1)] for s in SERVICES},
        )

    def instances(self, service: str) -> list[tuple[str, int]]:
        """``(process name, port)`` of each replica: ``catalog``, ``catalog-2``, ..."""
        ports = [self.ports[service], *self.more_ports.get(service, [])][: self.replicas]
        return [(service if i == 0 else f"{service}-{i + 1}", port) for i, port in enumerate(ports)]

    def service_urls(self, service: str) -> str:
        """Every replica's base URL, comma separated, as the gateway takes them."""
        return ",".join(f"http://127.0.0.1:{port}" for _, port in self.instances(service))

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    @property
    def registry_host(self) -> str:
        """The local OCI registry, as build references name it (``127.0.0.1:5000``)."""
        return f"127.0.0.1:{self.registry_port}"

    @property
    def oidc_issuer(self) -> str:
        return f"http://127.0.0.1:{self.oidc_port}"

    def database_url(self, service: str) -> str:
        return f"{self.pg_url}/{self.database_prefix}_{service}"


def _secret_file(path: Path, make: Callable[[], str]) -> str:
    """Read a dev secret from the state dir, creating it on first use (mode 600)."""
    if not path.exists():
        write_private(path, make().encode())
    return path.read_text()


def identity_command(args: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """Run one of identity's operator commands; its standard output, or an error with its output."""
    done = subprocess.run(
        [sys.executable, *IDENTITY_CLI, *args],
        env=None if env is None else dict(env),
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=IDENTITY_CLI_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr)[-3000:]
        raise RuntimeError(f"identity's {args[0]} exited with {done.returncode}:\n{output}")
    return done.stdout


def generate_signing_key() -> str:
    """A new signing key for identity's tokens, in the form identity expects (its own command)."""
    return identity_command(["generate-key"])


def generate_license_signing_key() -> str:
    """A new Ed25519 key (PKCS#8 PEM) for licensing's offline license documents."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem.decode("ascii")


class Stack:
    """The running processes of one stack."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self.registry = LocalRegistry(config.state_dir / "registry", config.registry_port)
        self.signing_key = _secret_file(config.state_dir / "signing-key.pem", generate_signing_key)
        self.internal_secret = _secret_file(
            config.state_dir / "internal-secret", lambda: secrets.token_urlsafe(32)
        )
        self.license_signing_key = _secret_file(
            config.state_dir / "license-signing-key.pem", generate_license_signing_key
        )
        self.oidc_client_secret = _secret_file(
            config.state_dir / "oidc-client-secret", lambda: secrets.token_urlsafe(24)
        )

    def service_env(self, spec: ServiceSpec, instance: str | None = None) -> dict[str, str]:
        """The environment of one replica (``instance``: its process name; the first by default)."""
        c = self.config
        instance = instance or spec.name
        port = dict(c.instances(spec.name)).get(instance, c.ports[spec.name])
        env = {
            **os.environ,
            "HSPM_HTTP_HOST": "127.0.0.1",
            "HSPM_HTTP_PORT": str(port),
            "HSPM_AMQP_URL": c.amqp_url,
            "HSPM_AMQP_NAMESPACE": c.amqp_namespace,
            "HSPM_INTERNAL_SECRET": self.internal_secret,
            "HSPM_LOG_JSON": "true" if c.log_json else "false",
            "HSPM_PUBLIC_URL": c.gateway_url,
            "HSPM_TOKEN_ISSUER": c.gateway_url,
            "OTEL_SERVICE_NAME": spec.name,
        }
        if spec.database:
            env["HSPM_DATABASE_URL"] = c.database_url(spec.name)
        if spec.name == "identity":
            env["HSPM_SIGNING_KEY"] = self.signing_key
            # After an OpenID Connect login the browser lands on the UI with a one-time code.
            env["HSPM_UI_URL"] = f"{c.gateway_url}{UI_LANDING}"
        if spec.name == "web":
            env["HSPM_API_URL"] = c.gateway_url
        if spec.name == "licensing":
            env["HSPM_LICENSE_SIGNING_KEY"] = self.license_signing_key
        if spec.name == "curation":
            # The development policy trusts the local registry (loopback, plain HTTP).
            env["HSPM_POLICY_ALLOWED_REGISTRIES"] = c.registry_host
            env["HSPM_POLICY_INSECURE_REGISTRIES"] = c.registry_host
        if spec.name == "validator":
            env["HSPM_WORK_DIR"] = str(c.state_dir / instance)
        if spec.name == "gateway":
            for absent in NOT_YET_BUILT:
                env[f"HSPM_{absent.upper()}_URL"] = ""
            for other in SERVICES:
                if other.name != "gateway":
                    env[f"HSPM_{other.name.upper()}_URL"] = c.service_urls(other.name)
        env.update(c.extra_env)
        return env

    def oidc_env(self) -> dict[str, str]:
        c = self.config
        client = {
            "client_id": OIDC_CLIENT_ID,
            "client_secret": self.oidc_client_secret,
            "redirect_uris": [f"{c.gateway_url}/sessions"],
            "token_endpoint_auth_method": "client_secret_post",
        }
        return {
            **os.environ,
            "OIDC_PORT": str(c.oidc_port),
            "OIDC_ISSUER": c.oidc_issuer,
            "OIDC_CLIENTS_JSON": orjson.dumps([client]).decode(),
        }

    async def _spawn(self, name: str, argv: list[str], env: Mapping[str, str], log: Path) -> None:
        out = log.open("ab")
        self.processes[name] = await asyncio.create_subprocess_exec(
            *argv,
            env=dict(env),
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            cwd=str(REPO),
            start_new_session=True,
        )
        out.close()

    async def start(self, timeout: float = 60.0, parts: Collection[str] | None = None) -> None:
        """Start the registry, the OIDC provider and every service; wait until all are ready.

        ``parts`` names a subset (``"registry"``, ``"oidc"``, service names) for tests that
        need only some of them; the gateway answers 503 for routes of a service not started.
        """
        wanted = set(ALL_PARTS if parts is None else parts)
        logs = self.config.state_dir / "logs"
        logs.mkdir(exist_ok=True)
        if "registry" in wanted and registry_available():
            await asyncio.to_thread(self.registry.start)
            await push_demo_images(self.registry.url)
        if "oidc" in wanted:
            argv = ["node", str(OIDC_DIR / "server.js")]
            await self._spawn("oidc", argv, self.oidc_env(), logs / "oidc.log")
        for spec in SERVICES:
            if spec.name in wanted:
                for instance, _ in self.config.instances(spec.name):
                    await self._spawn_service(spec, instance)
        await self.wait_ready(timeout)

    async def _spawn_service(self, spec: ServiceSpec, instance: str) -> None:
        argv = [sys.executable, "-m", f"hspm.{spec.name}"]
        log = self.config.state_dir / "logs" / f"{instance}.log"
        await self._spawn(instance, argv, self.service_env(spec, instance), log)

    def readiness_urls(self) -> dict[str, str]:
        urls = {
            instance: f"http://127.0.0.1:{port}/readyz"
            for s in SERVICES
            for instance, port in self.config.instances(s.name)
        }
        urls["oidc"] = f"{self.config.oidc_issuer}/.well-known/openid-configuration"
        return urls

    async def wait_ready(self, timeout: float) -> None:
        """Wait until every started process answers its readiness URL."""
        pending = {name: url for name, url in self.readiness_urls().items() if name in self.processes}
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while pending:
                for name, url in list(pending.items()):
                    proc = self.processes[name]
                    if proc.returncode is not None:
                        log = self.config.state_dir / "logs" / f"{name}.log"
                        raise RuntimeError(f"{name} exited with {proc.returncode}; see {log}")
                    with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                        async with http.get(url) as resp:
                            if resp.status == 200:
                                del pending[name]
                if pending:
                    if asyncio.get_running_loop().time() > deadline:
                        raise TimeoutError(f"not ready after {timeout}s: {', '.join(pending)}")
                    await asyncio.sleep(0.2)

    def local_provider(self) -> LocalProvider:
        """The dev OIDC provider as identity is to register it."""
        c = self.config
        return LocalProvider(
            c.oidc_issuer, OIDC_CLIENT_ID, self.oidc_client_secret, OIDC_DIR / "accounts.json"
        )

    async def create_admin(self) -> str:
        """A new administrator and its API token (JSON), from identity's ``create-admin``.

        Run with identity's own environment: it writes to identity's database and signs
        with identity's key, as an operator bootstrapping a new installation would.
        """
        env = self.service_env(IDENTITY)
        return await asyncio.to_thread(identity_command, ["create-admin", f"--name={BOOTSTRAP_NAME}"], env)

    async def seed(self) -> Path:
        """Seed the demo personas through identity's API; returns the tokens file."""
        c = self.config
        return await seed_identity(c.gateway_url, c.state_dir, self.local_provider(), self.create_admin)

    async def seed_catalog(self) -> None:
        """Seed the demo catalog, then demo licensing, then the demo platform, through the
        gateway (after ``seed``: it uses the tokens)."""
        from hspm.devstack.seed_catalog import seed_catalog
        from hspm.devstack.seed_licensing import seed_licensing
        from hspm.devstack.seed_notifier import seed_notifier

        c = self.config
        tokens = c.state_dir / "dev-tokens.json"
        products = await seed_catalog(c.gateway_url, tokens, c.registry_host)
        await seed_licensing(c.gateway_url, tokens, products)
        await seed_notifier(c.gateway_url, tokens, products)

    async def terminate(self, name: str) -> int | None:
        """Stop one process as ``docker stop`` does: SIGTERM, then SIGKILL after the grace period.

        Its exit status: 0 for a clean exit, -9 when it had to be killed; None when it was
        not running.
        """
        proc = self.processes.get(name)
        if proc is None or proc.returncode is not None:
            return None
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(proc.wait(), STOP_GRACE_SECONDS)
        except TimeoutError:
            proc.kill()
            return await proc.wait()

    async def kill(self, name: str) -> None:
        """SIGKILL one process, as a crash or an OOM kill would: no shutdown code runs."""
        proc = self.processes.get(name)
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()

    async def restart(self, name: str, timeout: float = 60.0) -> None:
        """Start one stopped or killed service process (``catalog``, ``catalog-2``...) again,
        as its supervisor would; wait until ready."""
        spec = next(s for s in SERVICES if s.name == name.split("-")[0])
        if name in self.processes and self.processes[name].returncode is None:
            raise RuntimeError(f"{name} is still running")
        await self._spawn_service(spec, name)
        await self.wait_ready(timeout)

    async def stop(self) -> dict[str, float]:
        """Terminate every process (gateway first); returns the seconds each took."""
        first = [s for s in SERVICES if s.name == "gateway"] + [s for s in SERVICES if s.name != "gateway"]
        order = [instance for s in first for instance, _ in self.config.instances(s.name)] + ["oidc"]
        timings: dict[str, float] = {}
        loop = asyncio.get_running_loop()
        for name in order:
            started = loop.time()
            if await self.terminate(name) is not None:
                timings[name] = loop.time() - started
        if self.registry.process is not None:
            started = loop.time()
            await asyncio.to_thread(self.registry.stop)
            timings["registry"] = loop.time() - started
        return timings

"""Start, watch and stop the marketplace's processes; shared by ``make up`` and system tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from hspm.devstack.images import push_demo_images
from hspm.devstack.registry import LocalRegistry
from hspm.devstack.registry import available as registry_available

REPO = Path(__file__).resolve().parents[5]
OIDC_DIR = REPO / "tools" / "oidc-provider"
OIDC_CLIENT_ID = "hspm-marketplace"
STOP_GRACE_SECONDS = 10.0


@dataclass(frozen=True)
class ServiceSpec:
    """One marketplace service: its module, its port and whether it owns a database."""

    name: str
    port: int
    database: bool = True


# Services the gateway routes to but this repository does not run yet: an empty URL
# tells the gateway so, and it answers 503 "not available" instead of trying a port.
NOT_YET_BUILT = ("licensing", "notifier", "web")

# Later services join by adding a line here (and leaving NOT_YET_BUILT).
SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("identity", 8081),
    ServiceSpec("catalog", 8082),
    ServiceSpec("curation", 8083),
    ServiceSpec("validator", 8084, database=False),
    ServiceSpec("gateway", 8080, database=False),
)
REGISTRY_PORT = 5000


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

    @classmethod
    def default(cls, state_dir: Path) -> StackConfig:
        return cls(state_dir=state_dir, ports={s.name: s.port for s in SERVICES})

    @classmethod
    def isolated(cls, state_dir: Path, tag: str) -> StackConfig:
        """Free ports, own databases and AMQP namespace: runs beside ``make up``."""
        return cls(
            state_dir=state_dir,
            ports={s.name: free_port() for s in SERVICES},
            oidc_port=free_port(),
            registry_port=free_port(),
            database_prefix=f"hspm_{tag}",
            amqp_namespace=f"hspm_{tag}",
        )

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


def _secret_file(path: Path, make: str) -> str:
    """Read a dev secret from the state dir, creating it on first use (mode 600)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make)
        path.chmod(0o600)
    return path.read_text()


class Stack:
    """The running processes of one stack."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self.registry = LocalRegistry(config.state_dir / "registry", config.registry_port)
        from hspm.identity.tokens import generate_private_key_pem

        self.signing_key = _secret_file(config.state_dir / "signing-key.pem", generate_private_key_pem())
        self.internal_secret = _secret_file(config.state_dir / "internal-secret", secrets.token_urlsafe(32))
        self.oidc_client_secret = _secret_file(
            config.state_dir / "oidc-client-secret", secrets.token_urlsafe(24)
        )

    def service_env(self, spec: ServiceSpec) -> dict[str, str]:
        c = self.config
        env = {
            **os.environ,
            "HSPM_HTTP_HOST": "127.0.0.1",
            "HSPM_HTTP_PORT": str(c.ports[spec.name]),
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
        if spec.name == "curation":
            # The development policy trusts the local registry (loopback, plain HTTP).
            env["HSPM_POLICY_ALLOWED_REGISTRIES"] = c.registry_host
            env["HSPM_POLICY_INSECURE_REGISTRIES"] = c.registry_host
        if spec.name == "validator":
            env["HSPM_WORK_DIR"] = str(c.state_dir / "validator")
        if spec.name == "gateway":
            for absent in NOT_YET_BUILT:
                env[f"HSPM_{absent.upper()}_URL"] = ""
            for other in SERVICES:
                if other.name != "gateway":
                    env[f"HSPM_{other.name.upper()}_URL"] = f"http://127.0.0.1:{c.ports[other.name]}"
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
        import orjson

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

    async def start(self, timeout: float = 60.0) -> None:
        """Start the registry, the OIDC provider and every service; wait until all are ready."""
        logs = self.config.state_dir / "logs"
        logs.mkdir(exist_ok=True)
        if registry_available():
            await asyncio.to_thread(self.registry.start)
            await push_demo_images(self.registry.url)
        await self._spawn("oidc", ["node", str(OIDC_DIR / "server.js")], self.oidc_env(), logs / "oidc.log")
        for spec in SERVICES:
            argv = [sys.executable, "-m", f"hspm.{spec.name}"]
            await self._spawn(spec.name, argv, self.service_env(spec), logs / f"{spec.name}.log")
        await self.wait_ready(timeout)

    def readiness_urls(self) -> dict[str, str]:
        urls = {s.name: f"http://127.0.0.1:{self.config.ports[s.name]}/readyz" for s in SERVICES}
        urls["oidc"] = f"{self.config.oidc_issuer}/.well-known/openid-configuration"
        return urls

    async def wait_ready(self, timeout: float) -> None:
        pending = dict(self.readiness_urls())
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

    def seed_argv(self, tokens: Path) -> list[str]:
        """identity's seed command; ``--name=value`` because a random secret may start with "-"."""
        return [
            sys.executable,
            "-m",
            "hspm.identity",
            "seed-demo",
            f"--accounts={OIDC_DIR / 'accounts.json'}",
            f"--oidc-issuer={self.config.oidc_issuer}",
            f"--client-id={OIDC_CLIENT_ID}",
            f"--client-secret={self.oidc_client_secret}",
            f"--tokens-file={tokens}",
        ]

    async def seed(self) -> Path:
        """Seed the demo personas through identity's CLI; returns the tokens file."""
        tokens = self.config.state_dir / "dev-tokens.json"
        spec = next(s for s in SERVICES if s.name == "identity")
        proc = await asyncio.create_subprocess_exec(
            *self.seed_argv(tokens),
            env=self.service_env(spec),
            cwd=str(REPO),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"seeding the demo data failed:\n{output.decode(errors='replace')[-3000:]}")
        return tokens

    async def seed_catalog(self) -> None:
        """Seed the demo catalog through the gateway (after ``seed``: it uses the tokens)."""
        from hspm.devstack.seed_catalog import seed_catalog

        c = self.config
        await seed_catalog(c.gateway_url, c.state_dir / "dev-tokens.json", c.registry_host)

    async def stop(self) -> dict[str, float]:
        """SIGTERM every process (gateway first), wait, then SIGKILL; returns seconds each took."""
        order = ["gateway", *[s.name for s in SERVICES if s.name != "gateway"], "oidc"]
        timings: dict[str, float] = {}
        loop = asyncio.get_running_loop()
        for name in order:
            proc = self.processes.get(name)
            if proc is None or proc.returncode is not None:
                continue
            started = loop.time()
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE_SECONDS)
            except TimeoutError:
                proc.kill()
                await proc.wait()
            timings[name] = loop.time() - started
        if self.registry.process is not None:
            started = loop.time()
            await asyncio.to_thread(self.registry.stop)
            timings["registry"] = loop.time() - started
        return timings

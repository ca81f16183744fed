"""The ``hspm`` command line end to end: the real command, run as a process, against the
private stack, as the demo personas (their API tokens in ``HSPM_TOKEN``, or signed in).

Each command is run for what it is for and for how it fails: not signed in (exit 3),
unknown ids (exit 4, naming the command that lists them), refused input (exit 2), and a
build whose validation fails (exit 1, with the failing rule printed).
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hspm.common.testing import unique, wait_for
from hspm.devstack.api import GatewayApi
from hspm.devstack.login import browser_login
from hspm.devstack.stack import Stack

VERDICT_SECONDS = 240.0
# The facts a marketplace.json lists (spec §6.5); empty lists will do for a sample.
FACT_LISTS = (
    "stewards",
    "licensing",
    "domain",
    "cybersecurity",
    "customer_service",
    "data_access",
    "identify_and_access_management",
    "runtime_dependencies",
    "networking",
)
RUN_SECONDS = 300.0


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    """Runs ``hspm`` against the stack with a private config directory."""

    stack: Stack
    tokens: dict[str, str]
    home: Path

    def env(self, persona: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HSPM_")}
        env |= {"HSPM_URL": self.stack.config.gateway_url, "XDG_CONFIG_HOME": str(self.home)}
        if persona is not None:
            env["HSPM_TOKEN"] = self.tokens[persona]
        return env

    async def start(self, *args: str, persona: str | None = None) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hspm.client.cli",
            *args,
            env=self.env(persona),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def __call__(self, *args: str, persona: str | None = None, stdin: str = "") -> Result:
        process = await self.start(*args, persona=persona)
        out, err = await asyncio.wait_for(process.communicate(stdin.encode()), RUN_SECONDS)
        assert process.returncode is not None
        return Result(process.returncode, out.decode(), err.decode())


@pytest.fixture
def cli(stack: Stack, tokens: dict[str, str], tmp_path: Path) -> Cli:
    return Cli(stack, tokens, tmp_path / "config")


@pytest_asyncio.fixture(loop_scope="session")
async def api(stack: Stack, tokens: dict[str, str]) -> Any:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        yield GatewayApi(http, stack.config.gateway_url, dict(tokens))


def document(product_id: str, image: str) -> dict[str, Any]:
    """A marketplace.json for one image, with fresh build, configuration and task ids."""
    return {
        "$schema": "https://marketplace-schema.logicahealth.org/build.json",
        "marketplace_url": "https://marketplace.example.org",
        "product": {
            "uuid": product_id,
            "build": {
                "uuid": str(uuid.uuid4()),
                "binary": {"registry": f"http://{image.split('/', 1)[0]}", "image": image},
                "dependency": [],
            },
            "facts": {
                "name": unique("CLI sample"),
                "organization": [{"name": "CLI tests"}],
                **{k: [] for k in FACT_LISTS},
                "technology_mime_type": "",
            },
        },
        "configuration": [
            {
                "default": True,
                "task": [
                    {
                        "id": str(uuid.uuid4()),
                        "label": "web",
                        "memory_maximum": 64,
                        "ports": [8080],
                        "environment": [],
                    }
                ],
            }
        ],
        "provenance": [],
    }


async def new_product(cli: Cli) -> str:
    made = await cli("product", "create", unique("CLI product"), "--json", persona="isv")
    assert made.code == 0, made
    return str(made.json()["id"])


def write(tmp_path: Path, doc: Any, name: str = "marketplace.json") -> Path:
    target = tmp_path / name
    target.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return target


class TestSignedOut:
    @pytest.mark.parametrize(
        "args",
        [
            ("whoami",),
            ("product", "create", "Nope"),
            ("review", "list"),
            ("platform", "list"),
            ("report", "usage"),
            ("license", "check", "00000000-0000-4000-8000-00000000abcd"),
        ],
    )
    async def test_says_how_to_sign_in(self, cli: Cli, args: tuple[str, ...]) -> None:
        result = await cli(*args)
        assert result.code == 3, result
        assert "not signed in: run `hspm login` or set HSPM_TOKEN" in result.err

    async def test_a_bad_token_is_told_to_sign_in_again(self, cli: Cli) -> None:
        cli.tokens = cli.tokens | {"bogus": "not.a.token"}
        result = await cli("whoami", persona="bogus")
        assert result.code == 3 and "hspm login" in result.err, result
        assert "not.a.token" not in result.out + result.err

    async def test_an_unreachable_marketplace_is_exit_6(self, cli: Cli) -> None:
        result = await cli("whoami", "--url", "http://127.0.0.1:9", persona="isv")
        assert result.code == 6 and "cannot reach" in result.err, result


class TestLogin:
    async def test_with_token_stores_it_privately_and_logout_forgets_it(self, cli: Cli) -> None:
        stored = await cli("login", "--with-token", stdin=cli.tokens["isv"] + "\n")
        assert stored.code == 0, stored
        creds = cli.home / "hspm" / "credentials.json"
        assert stat.S_IMODE(creds.stat().st_mode) == 0o600
        assert cli.tokens["isv"] not in stored.out + stored.err
        me = await cli("whoami", "--json")
        assert me.code == 0, me
        assert me.json()["user"]["name"] == "Ivan Vendor" and me.json()["token"]["source"] == "credentials"
        assert (await cli("logout")).code == 0
        assert cli.stack.config.gateway_url not in json.loads(creds.read_text())
        assert (await cli("whoami")).code == 3

    async def test_with_token_refuses_nothing_or_garbage(self, cli: Cli) -> None:
        assert (await cli("login", "--with-token", stdin="")).code == 2
        refused = await cli("login", "--with-token", stdin="garbage")
        assert refused.code == 3, refused
        assert not (cli.home / "hspm" / "credentials.json").exists()

    async def test_device_sign_in_approved_in_the_browser(self, cli: Cli, api: GatewayApi) -> None:
        process = await cli.start("login", "--no-browser")
        assert process.stderr is not None
        line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
        assert "enter the code" in line, line
        user_code = line.rsplit("code", 1)[1].split()[0]
        listed = await api.get("/identity_providers", None)
        [idp] = [p for p in listed["results"] if p["issuer"] == cli.stack.config.oidc_issuer]
        session = await browser_login(cli.stack.config.gateway_url, idp["id"], "isv", "isv-demo-password")
        api.tokens["isv-session"] = session["jwt"]
        # An API token may not approve; the person's session may.
        body = {"user_code": user_code, "approve": True}
        assert (await api.send("POST", "/device_authorizations/approve", "isv", body))[0] == 403
        assert (await api.send("POST", "/device_authorizations/approve", "isv-session", body))[0] == 204
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, (out, err)
        assert "Signed in" in out.decode()
        me = await cli("whoami", "--json")
        assert me.code == 0, me
        assert me.json()["user"]["name"] == "Ivan Vendor" and me.json()["token"]["kind"] == "session"
        token = json.loads((cli.home / "hspm" / "credentials.json").read_text())[
            cli.stack.config.gateway_url
        ]["token"]
        assert (await cli("logout")).code == 0
        api.tokens["device"] = token
        # Logging out revoked the session at the marketplace too.
        assert (await api.send("GET", "/status", "device"))[0] == 401

    async def test_device_sign_in_denied(self, cli: Cli, api: GatewayApi) -> None:
        process = await cli.start("login", "--no-browser")
        assert process.stderr is not None
        line = (await asyncio.wait_for(process.stderr.readline(), 30)).decode()
        user_code = line.rsplit("code", 1)[1].split()[0]
        listed = await api.get("/identity_providers", None)
        [idp] = [p for p in listed["results"] if p["issuer"] == cli.stack.config.oidc_issuer]
        session = await browser_login(
            cli.stack.config.gateway_url, idp["id"], "customer", "customer-demo-password"
        )
        api.tokens["customer-session"] = session["jwt"]
        body = {"user_code": user_code, "approve": False}
        assert (await api.send("POST", "/device_authorizations/approve", "customer-session", body))[0] == 204
        _, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 3 and "denied" in err.decode()
        assert not (cli.home / "hspm" / "credentials.json").exists()


class TestProducts:
    async def test_create_list_show_edit(self, cli: Cli) -> None:
        pid = await new_product(cli)
        mine = await cli("product", "list", "--mine", "--json", persona="isv")
        assert mine.code == 0 and pid in {p["id"] for p in mine.json()}, mine
        table = await cli("product", "list", "--mine", persona="isv")
        assert pid in table.out and "NAME" in table.out
        edited = await cli(
            "product", "edit", pid, "--description", "Now with words.", "--json", persona="isv"
        )
        assert edited.code == 0 and edited.json()["description"] == "Now with words.", edited
        shown = await cli("product", "show", pid, persona="isv")
        assert shown.code == 0 and "Now with words." in shown.out, shown

    async def test_unknown_product_says_where_to_look(self, cli: Cli) -> None:
        missing = str(uuid.uuid4())
        for args in (("product", "show", missing), ("product", "edit", missing, "--name", "x")):
            result = await cli(*args, persona="isv")
            assert result.code == 4, result
            assert f"unknown product {missing}: `hspm product list --mine` shows yours" in result.err

    async def test_refused_fields_are_listed_by_field(self, cli: Cli) -> None:
        pid = await new_product(cli)
        result = await cli("product", "edit", pid, "--support-url", "not a url", persona="isv")
        assert result.code == 2, result
        assert "support_url:" in result.err

    async def test_usage_errors(self, cli: Cli) -> None:
        assert (await cli("product", "show", "not-an-id", persona="isv")).code == 2
        assert (await cli("product", "edit", str(uuid.uuid4()), persona="isv")).code == 2


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def quick_policy(stack: Stack, tokens: dict[str, str]) -> Any:
    """Shorter runtime budgets, so the broken sample is judged quickly (as the validation
    flow's tests do)."""
    async with aiohttp.ClientSession() as http:
        api = GatewayApi(http, stack.config.gateway_url, tokens)
        policy = await api.ok("GET", "/validation_policy", "operator")
        await api.ok(
            "PUT", "/validation_policy", "operator", policy | {"startup_seconds": 8, "stop_grace_seconds": 3}
        )
        yield
        await api.ok("PUT", "/validation_policy", "operator", policy)


@dataclass(frozen=True)
class Submitted:
    product_id: str
    build_id: str
    result: Result


async def submit(cli: Cli, tmp_path: Path, sample: str, *extra: str) -> Submitted:
    pid = await new_product(cli)
    image = f"{cli.stack.config.registry_host}/samples/{sample}:1"
    path = write(tmp_path, document(pid, image), f"{sample}.json")
    result = await cli("build", "submit", str(path), "--timeout", str(VERDICT_SECONDS), *extra, persona="isv")
    return Submitted(pid, result.json()["build"]["id"] if "--json" in extra and result.out else "", result)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def good(
    stack: Stack, tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory, quick_policy: None
) -> Submitted:
    """The good sample, submitted through the command and followed to its verdict."""
    cli = Cli(stack, tokens, tmp_path_factory.mktemp("good-config"))
    return await submit(cli, tmp_path_factory.mktemp("good"), "good", "--json")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def published(
    stack: Stack, tokens: dict[str, str], tmp_path_factory: pytest.TempPathFactory, good: Submitted
) -> tuple[Result, str]:
    """The curator's approval of the good build through the command, once it is published;
    the approval's result and the build's id."""
    assert good.result.code == 0, good.result
    cli = Cli(stack, tokens, tmp_path_factory.mktemp("curator-config"))
    cases = await cli("review", "list", "--build", good.build_id, "--json", persona="operator")
    assert cases.code == 0, cases
    [case] = cases.json()
    approved = await cli(
        "review", "approve", case["id"], "--reason", "Report read.", "--json", persona="operator"
    )
    async with aiohttp.ClientSession() as http:
        api = GatewayApi(http, stack.config.gateway_url, tokens)

        async def is_published() -> bool:
            build = await api.get(f"/products/{good.product_id}/builds/{good.build_id}", "isv")
            return bool(build["published_at"])

        await wait_for(is_published, 60)
    # Listed in the catalog, so customers may deploy it.
    listed = await cli("product", "publish", good.product_id, "--json", persona="operator")
    assert listed.code == 0 and listed.json()["listed"] is True, listed
    return approved, good.build_id


@pytest.mark.usefixtures("quick_policy")
class TestBuildSubmit:
    async def test_a_good_build_validates_and_is_exit_0(self, cli: Cli, good: Submitted) -> None:
        body = good.result.json()
        assert good.result.code == 0, good.result
        assert body["passed"] is True and body["review_state"] == "awaiting_review"
        assert body["validation"]["outcome"] == "passed"
        # Not a TTY: plain progress lines on stderr, JSON alone on stdout.
        assert "Submitted build" in good.result.err and "awaiting_review" in good.result.err
        shown = await cli("build", "show", good.build_id, "--product", good.product_id, persona="isv")
        assert shown.code == 0 and "awaiting_review" in shown.out, shown

    async def test_the_curator_reviews_and_approves_it(self, cli: Cli, published: tuple[Result, str]) -> None:
        approved, _ = published
        assert approved.code == 0 and approved.json()["state"] in ("approved", "published"), approved
        case = approved.json()["id"]
        shown = await cli("review", "show", case, persona="operator")
        assert shown.code == 0 and "awaiting_review -> approved" in shown.out, shown
        again = await cli("review", "reject", case, "--reason", "Too late.", persona="operator")
        assert again.code in (1, 2), again

    async def test_a_failing_build_is_exit_1_with_its_rules(self, cli: Cli, tmp_path: Path) -> None:
        done = await submit(cli, tmp_path, "no-health")
        assert done.result.code == 1, done.result
        assert "Validation failed" in done.result.out
        assert "FAIL runtime.healthy (required)" in done.result.out

    async def test_no_wait_returns_once_submitted(self, cli: Cli, tmp_path: Path) -> None:
        done = await submit(cli, tmp_path, "good", "--no-wait", "--json")
        assert done.result.code == 0, done.result
        assert done.result.json()["build"]["status"] == "submitted"

    async def test_unknown_product(self, cli: Cli, tmp_path: Path) -> None:
        missing = str(uuid.uuid4())
        path = write(tmp_path, document(missing, f"{cli.stack.config.registry_host}/samples/good:1"))
        result = await cli("build", "submit", str(path), persona="isv")
        assert result.code == 4, result
        assert f"unknown product {missing}: `hspm product list --mine` shows yours" in result.err

    async def test_an_invalid_document_is_refused_with_its_issues(self, cli: Cli, tmp_path: Path) -> None:
        pid = await new_product(cli)
        doc = document(pid, "")
        del doc["configuration"]
        result = await cli("build", "submit", str(write(tmp_path, doc)), persona="isv")
        assert result.code == 1, result
        assert "marketplace.json was refused" in result.err and "configuration" in result.err

    async def test_unreadable_documents_are_usage_errors(self, cli: Cli, tmp_path: Path) -> None:
        assert (await cli("build", "submit", str(tmp_path / "absent.json"), persona="isv")).code == 2
        broken = await cli("build", "submit", str(write(tmp_path, "{not json")), persona="isv")
        assert broken.code == 2 and "not JSON" in broken.err, broken
        no_product = await cli("build", "submit", str(write(tmp_path, {"x": 1})), persona="isv")
        assert no_product.code == 2 and "--product" in no_product.err

    async def test_not_signed_in(self, cli: Cli, tmp_path: Path) -> None:
        result = await cli("build", "submit", str(write(tmp_path, {"x": 1})))
        assert result.code == 3 and "hspm login" in result.err


class TestReviews:
    async def test_unknown_case_and_missing_reason(self, cli: Cli) -> None:
        missing = str(uuid.uuid4())
        shown = await cli("review", "show", missing, persona="operator")
        assert shown.code == 4 and "`hspm review list`" in shown.err, shown
        assert (await cli("review", "reject", missing, persona="operator")).code == 2

    async def test_a_customer_may_not_decide(self, cli: Cli) -> None:
        result = await cli("review", "approve", str(uuid.uuid4()), persona="customer")
        assert result.code in (3, 4), result


class TestLicensingAndReports:
    async def test_check_unknown_product_and_not_licensed(self, cli: Cli, api: GatewayApi) -> None:
        missing = str(uuid.uuid4())
        unknown = await cli("license", "check", missing, persona="customer")
        assert unknown.code == 4 and f"unknown product {missing}" in unknown.err, unknown
        pid = await new_product(cli)
        terms = {
            "name": unique("CLI"),
            "url": f"https://licenses.example.org/{unique('cli')}",
            "expiry": "relative_date",
            "days_valid": 30,
            "uses": 5,
        }
        license_ = await api.ok("POST", "/licenses", "operator", terms)

        async def offered() -> bool:
            status, _ = await api.send(
                "POST", f"/products/{pid}/licenses", "isv", {"license_id": license_["id"]}
            )
            return status == 201

        await wait_for(offered, 30)
        result = await cli("license", "check", pid, "--json", persona="customer")
        assert result.code == 1, result
        assert result.json()["licensed"] is False

    async def test_usage_report_as_csv_and_json(self, cli: Cli) -> None:
        as_csv = await cli("report", "usage", "--csv", persona="auditor")
        assert as_csv.code == 0, as_csv
        assert as_csv.out.splitlines()[0].count(",") >= 2
        as_json = await cli("report", "usage", "--json", persona="auditor")
        assert as_json.code == 0 and isinstance(as_json.json(), list), as_json
        refused = await cli("report", "usage", persona="customer")
        assert refused.code == 3 and "not allowed" in refused.err, refused


class TestPlatformsAndInstances:
    async def test_platform_keys_and_instances(
        self, cli: Cli, tmp_path: Path, published: tuple[Result, str]
    ) -> None:
        made = await cli("platform", "create", unique("CLI platform"), "--json", persona="customer")
        assert made.code == 0, made
        platform = made.json()["id"]
        listed = await cli("platform", "list", "--json", persona="customer")
        assert platform in {p["id"] for p in listed.json()}
        assert (await cli("platform", "show", platform, persona="customer")).code == 0
        private = Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (tmp_path / "agent.pub").write_bytes(public)
        (tmp_path / "agent.key").write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        secret = await cli(
            "platform", "keys", platform, "--add", str(tmp_path / "agent.key"), persona="customer"
        )
        assert secret.code == 2 and "private key" in secret.err, secret
        added = await cli(
            "platform", "keys", platform, "--add", str(tmp_path / "agent.pub"), "--json", persona="customer"
        )
        assert added.code == 0, added
        keys = await cli("platform", "keys", platform, "--json", persona="customer")
        assert [k["id"] for k in keys.json()] == [added.json()["id"]]
        revoked = await cli("platform", "keys", platform, "--revoke", added.json()["id"], persona="customer")
        assert revoked.code == 0, revoked
        _, build = published
        deploy = ("instance", "create", "--platform", platform, "--build", build, "--stopped", "--json")

        async def deployed() -> Result | None:
            # The notifier hears of the publication by an event: until then it is refused.
            result = await cli(*deploy, persona="customer")
            assert result.code in (0, 2), result
            return result if result.code == 0 else None

        instance = (await wait_for(deployed, 30)).json()["id"]
        assert instance in (await cli("instance", "list", "--platform", platform, persona="customer")).out
        assert (await cli("instance", "show", instance, persona="customer")).code == 0
        assert (await cli("instance", "delete", instance, persona="customer")).code == 0
        gone = await cli("instance", "show", instance, persona="customer")
        assert gone.code == 4 and "hspm instance list" in gone.err, gone

    async def test_unknown_platform(self, cli: Cli) -> None:
        missing = str(uuid.uuid4())
        result = await cli("platform", "show", missing, persona="customer")
        assert result.code == 4 and "`hspm platform list` shows yours" in result.err, result

"""The demo seed's decisions, against a small in-memory stand-in for identity's API.

The stand-in answers only the calls the seed makes, with identity's shapes and refusals
(401 for an unknown token, 422 for a taken id, a linked subject or a held role). The
seed against the real identity is tools/devstack/tests/system/test_seed_demo.py.
"""

from __future__ import annotations

import itertools
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from hspm.devstack import seed_identity as seed
from hspm.devstack.api import ApiError
from hspm.devstack.seed_identity import LocalProvider, Persona, personas, seed_identity

ACCOUNTS = Path(__file__).resolve().parents[4] / "tools" / "oidc-provider" / "accounts.json"
ISSUER = "http://127.0.0.1:9090"
ROLES = {name: str(uuid4()) for name in ("Administrator", "Operator", "ISV", "Customer", "Auditor")}


def _page(records: list[dict[str, Any]]) -> web.Response:
    return web.json_response({"results": records, "total_entries": len(records), "next_page": None})


def _invalid(errors: dict[str, list[str]]) -> web.Response:
    return web.json_response({"status": 422, "errors": errors}, status=422)


@dataclass
class FakeIdentity:
    """Identity's state as the seed sees it through the gateway."""

    admin_tokens: set[str] = field(default_factory=set)
    providers: list[dict[str, Any]] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    identities: list[dict[str, Any]] = field(default_factory=list)
    appointments: set[tuple[str, str]] = field(default_factory=set)
    minted: list[tuple[str, str]] = field(default_factory=list)  # (user id, token)
    patches: list[dict[str, Any]] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=itertools.count)
    refuse_users: dict[str, list[str]] | None = None  # errors for every POST /users

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self.authorised])
        app.router.add_get("/status", self.status)
        app.router.add_get("/identity_providers", self.list_providers)
        app.router.add_post("/identity_providers", self.add_provider)
        app.router.add_patch("/identity_providers/{id}", self.patch_provider)
        app.router.add_get("/users", self.list_users)
        app.router.add_post("/users", self.add_user)
        app.router.add_get("/users/{id}/identities", self.user_identities)
        app.router.add_post("/users/{id}/identities", self.link)
        app.router.add_post("/users/{id}/api_tokens", self.mint)
        app.router.add_get("/roles", self.roles)
        app.router.add_post("/roles/{id}/appointments", self.appoint)
        return app

    @web.middleware
    async def authorised(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.headers.get("Authorization", "").removeprefix("Bearer ") not in self.admin_tokens:
            return web.json_response({"status": 401}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    def make_admin(self) -> str:
        """What ``create-admin`` prints: a new administrator and its token."""
        user = self.new_user({"name": seed.BOOTSTRAP_NAME})
        self.appointments.add((ROLES["Administrator"], user["id"]))
        token = f"admin-token-{next(self.counter)}"
        self.admin_tokens.add(token)
        return orjson.dumps({"user_id": user["id"], "token": token}).decode()

    def new_user(self, fields: dict[str, Any]) -> dict[str, Any]:
        user = {"id": str(uuid4())} | fields
        self.users[user["id"]] = user
        self.appointments.add((ROLES["Customer"], user["id"]))  # the default role
        return user

    async def status(self, _: web.Request) -> web.Response:
        return web.json_response({"user": {"name": seed.BOOTSTRAP_NAME}})

    async def list_providers(self, _: web.Request) -> web.Response:
        return _page(self.providers)

    async def list_users(self, _: web.Request) -> web.Response:
        return _page(list(self.users.values()))

    async def add_provider(self, request: web.Request) -> web.Response:
        provider = {"id": str(uuid4()), "enabled": True} | await request.json()
        self.providers.append(provider)
        return web.json_response(provider, status=201)

    async def patch_provider(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.patches.append(body)
        [provider] = [p for p in self.providers if p["id"] == request.match_info["id"]]
        provider.update(body)
        return web.json_response(provider)

    async def add_user(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.refuse_users is not None:
            return _invalid(self.refuse_users)
        if body.get("id") in self.users:
            return _invalid({"id": ["has already been taken"]})
        return web.json_response(self.new_user(body), status=201)

    async def user_identities(self, request: web.Request) -> web.Response:
        return _page([i for i in self.identities if i["user_id"] == request.match_info["id"]])

    async def link(self, request: web.Request) -> web.Response:
        body = await request.json()
        key = (body["identity_provider_id"], body["sub"])
        if any((i["identity_provider_id"], i["sub"]) == key for i in self.identities):
            return _invalid({"sub": ["is already linked at this identity provider"]})
        if request.match_info["id"] not in self.users:
            return web.json_response({"status": 404}, status=404)
        identity = {"id": str(uuid4()), "user_id": request.match_info["id"]} | body
        self.identities.append(identity)
        return web.json_response(identity, status=201)

    async def roles(self, request: web.Request) -> web.Response:
        wanted = request.query.get("name", "").lower()
        return _page([{"id": i, "name": n} for n, i in ROLES.items() if wanted in n.lower()])

    async def appoint(self, request: web.Request) -> web.Response:
        key = (request.match_info["id"], (await request.json())["entity_id"])
        if key in self.appointments:
            return _invalid({"entity_id": ["already holds this role"]})
        self.appointments.add(key)
        return web.json_response({"role_id": key[0], "entity_id": key[1]}, status=201)

    async def mint(self, request: web.Request) -> web.Response:
        body = await request.json()
        assert body == {"name": "demo", "scopes": ["*"], "expires_in_days": 90}
        token = f"token-{next(self.counter)}"
        self.minted.append((request.match_info["id"], token))
        return web.json_response({"id": str(uuid4()), "token": token}, status=201)

    def user_of(self, sub: str) -> str:
        [user_id] = [i["user_id"] for i in self.identities if i["sub"] == sub]
        return str(user_id)


@dataclass
class Seeder:
    """Runs the seed against the stand-in and counts ``create-admin`` runs."""

    fake: FakeIdentity
    url: str
    state_dir: Path
    provider: LocalProvider
    admins_made: int = 0

    async def create_admin(self) -> str:
        self.admins_made += 1
        # Whatever the command logs before it, its last line is the JSON.
        return "applied migrations\n" + self.fake.make_admin() + "\n"

    async def run(self) -> dict[str, str]:
        out = await seed_identity(self.url, self.state_dir, self.provider, self.create_admin)
        assert out == self.state_dir / "dev-tokens.json"
        tokens: dict[str, str] = orjson.loads(out.read_bytes())
        return tokens


@pytest_asyncio.fixture
async def seeder(tmp_path: Path) -> AsyncIterator[Seeder]:
    fake = FakeIdentity()
    server = TestServer(fake.app())
    await server.start_server()
    provider = LocalProvider(ISSUER, "hspm-marketplace", "-secret-with-a-dash", ACCOUNTS)
    try:
        yield Seeder(fake, str(server.make_url("")).rstrip("/"), tmp_path, provider)
    finally:
        await server.close()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _personas() -> list[Persona]:
    return personas(ACCOUNTS.read_bytes())


class TestPersonas:
    def test_every_demo_account_with_its_subject(self) -> None:
        found = _personas()
        assert [p.login for p in found] == ["admin", "operator", "isv", "customer", "auditor"]
        accounts = {a["login"]: a for a in orjson.loads(ACCOUNTS.read_bytes())["accounts"]}
        for p in found:
            assert (p.sub, p.name, p.email) == (
                accounts[p.login]["id"],
                accounts[p.login]["name"],
                accounts[p.login]["email"],
            )

    def test_accounts_without_a_persona_role_are_left_out(self) -> None:
        doc = [
            {"id": "1", "login": "isv", "name": "Ivan"},
            {"id": "2", "login": "stranger", "name": "Sam"},
        ]
        assert [p.login for p in personas(orjson.dumps(doc))] == ["isv"]

    def test_empty_name_parts_are_not_sent(self) -> None:
        p = Persona("isv", "1", "Ivan", first_name=None, last_name="Vendor", email=None)
        assert p.user_fields == {"name": "Ivan", "last_name": "Vendor"}


class TestSeed:
    async def test_users_roles_identities_and_private_files(self, seeder: Seeder) -> None:
        tokens = await seeder.run()
        fake = seeder.fake
        assert set(tokens) == set(seed.PERSONA_ROLES)
        assert _mode(seeder.state_dir / "dev-tokens.json") == 0o600
        assert _mode(seeder.state_dir / "bootstrap-admin.json") == 0o600
        [provider] = fake.providers
        assert (provider["issuer"], provider["name"], provider["scopes"]) == (
            ISSUER,
            "Local development",
            "openid email profile roles",
        )
        assert provider["client_secret"] == "-secret-with-a-dash"
        for persona in _personas():
            user_id = fake.user_of(persona.sub)
            assert fake.users[user_id]["name"] == persona.name
            assert (ROLES[seed.PERSONA_ROLES[persona.login]], user_id) in fake.appointments
            assert (user_id, tokens[persona.login]) in fake.minted

    async def test_running_again_finds_everything_and_mints_new_tokens(self, seeder: Seeder) -> None:
        first = await seeder.run()
        users, identities, appointments = (
            dict(seeder.fake.users),
            list(seeder.fake.identities),
            set(seeder.fake.appointments),
        )
        second = await seeder.run()
        assert seeder.admins_made == 1  # the kept administrator token was reused
        assert (seeder.fake.users, seeder.fake.identities) == (users, identities)
        assert seeder.fake.appointments == appointments
        assert len(seeder.fake.providers) == 1
        assert all(first[p] != second[p] for p in first)

    async def test_a_refused_kept_token_is_replaced(self, seeder: Seeder) -> None:
        await seeder.run()
        seeder.fake.admin_tokens.clear()  # e.g. the database was dropped
        await seeder.run()
        assert seeder.admins_made == 2
        kept = orjson.loads((seeder.state_dir / "bootstrap-admin.json").read_bytes())
        assert kept["token"] in seeder.fake.admin_tokens
        assert _mode(seeder.state_dir / "bootstrap-admin.json") == 0o600

    async def test_changed_credentials_update_the_registered_provider(self, seeder: Seeder) -> None:
        await seeder.run()
        seeder.provider = LocalProvider(ISSUER, "hspm-marketplace", "a-new-secret", ACCOUNTS)
        await seeder.run()
        assert len(seeder.fake.providers) == 1
        assert seeder.fake.patches[-1] == {
            "client_id": "hspm-marketplace",
            "client_secret": "a-new-secret",
            "scopes": "openid email profile roles",
        }

    async def test_a_user_left_unlinked_by_an_interrupted_run_is_linked_not_duplicated(
        self, seeder: Seeder
    ) -> None:
        await seeder.run()
        isv = next(p for p in _personas() if p.login == "isv")
        user_id = seeder.fake.user_of(isv.sub)
        seeder.fake.identities = [i for i in seeder.fake.identities if i["sub"] != isv.sub]
        count = len(seeder.fake.users)
        await seeder.run()
        assert len(seeder.fake.users) == count
        assert seeder.fake.user_of(isv.sub) == user_id

    async def test_an_unexpected_refusal_stops_the_seed(self, seeder: Seeder) -> None:
        # A taken email (not the derived id) is no reason to go on.
        seeder.fake.refuse_users = {"email": ["has already been taken"]}
        with pytest.raises(ApiError, match="email"):
            await seeder.run()
        assert not (seeder.state_dir / "dev-tokens.json").exists()

"""Request bodies: bare or wrapped JSON, validated, with problem+json for every failure."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from pydantic import BaseModel, ConfigDict

from hspm.common.config import ServiceSettings
from hspm.common.errors import ValidationFailed
from hspm.common.models import MAX_JSON_DEPTH as MAX_DEPTH
from hspm.common.models import json_depth as depth
from hspm.common.testing import TEST_INTERNAL_SECRET
from hspm.common.web import create_base_app, json_response, read_model
from hspm.common.web.body import SERVER_FIELDS, parse_model, unwrap

MAX_BODY = 1024


class Product(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    price: int
    tags: list[str] = []


GOOD = {"name": "Growth charts", "price": 5}


class TestParseModel:
    def test_bare_object(self) -> None:
        assert parse_model(Product, dict(GOOD), "product") == Product(**GOOD)

    def test_wrapped_in_the_resource_name(self) -> None:
        assert parse_model(Product, {"product": dict(GOOD)}, "product") == Product(**GOOD)

    def test_wrapper_beside_other_keys_is_not_unwrapped(self) -> None:
        data = {"product": dict(GOOD), "note": "x"}
        assert unwrap(data, "product") is data

    def test_another_resource_name_is_not_unwrapped(self) -> None:
        with pytest.raises(ValidationFailed) as info:
            parse_model(Product, {"listing": dict(GOOD)}, "product")
        assert {"name", "price", "listing"} <= set(info.value.errors)

    def test_server_fields_are_dropped(self) -> None:
        echoed = dict(GOOD, created_at="2020-01-01T00:00:00Z", updated_at="x", url="/p/1", path="p")
        assert set(echoed) - set(GOOD) == SERVER_FIELDS
        assert parse_model(Product, echoed, "product") == Product(**GOOD)

    def test_wrong_types_name_their_fields(self) -> None:
        with pytest.raises(ValidationFailed) as info:
            parse_model(Product, {"name": 3, "price": "cheap", "tags": ["ok", 4]}, "product")
        assert set(info.value.errors) == {"name", "price", "tags.1"}
        assert info.value.status == 422

    def test_missing_field_is_named(self) -> None:
        with pytest.raises(ValidationFailed) as info:
            parse_model(Product, {"name": "x"}, "product")
        assert list(info.value.errors) == ["price"]

    @pytest.mark.parametrize("data", [[GOOD], "product", 3, None])
    def test_non_object_names_the_wrapper(self, data: Any) -> None:
        with pytest.raises(ValidationFailed) as info:
            parse_model(Product, data, "product")
        assert info.value.errors == {"product": ["must be a JSON object"]}


async def create_product(request: web.Request) -> web.Response:
    product = await read_model(request, Product, "product")
    return json_response(product.model_dump(), status=201)


@pytest.fixture
async def client(aiohttp_client: Any) -> Any:
    app = create_base_app(
        ServiceSettings(max_body_bytes=MAX_BODY, internal_secret=TEST_INTERNAL_SECRET), "catalog"
    )
    app.router.add_post("/products", create_product)
    return await aiohttp_client(app)


async def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = await response.json(content_type=None)
    assert body["status"] == status
    return body


class TestReadModel:
    async def test_bare_json(self, client: Any) -> None:
        response = await client.post("/products", json=GOOD)
        assert response.status == 201
        assert await response.json() == dict(GOOD, tags=[])

    async def test_wrapped_json(self, client: Any) -> None:
        response = await client.post("/products", json={"product": GOOD})
        assert response.status == 201

    async def test_json_suffix_media_type(self, client: Any) -> None:
        response = await client.post(
            "/products",
            data=b'{"name": "a", "price": 1}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert response.status == 201

    async def test_no_content_type_is_taken_as_json(self, client: Any) -> None:
        # aiohttp reports a missing header as application/octet-stream (was a 415).
        response = await client.post(
            "/products", data=b'{"name": "a", "price": 1}', skip_auto_headers={"Content-Type"}
        )
        assert response.status == 201, await response.text()

    async def test_declared_octet_stream_is_415(self, client: Any) -> None:
        response = await client.post(
            "/products",
            data=b'{"name": "a", "price": 1}',
            headers={"Content-Type": "application/octet-stream"},
        )
        await problem(response, 415)

    async def test_wrong_types_are_422_naming_fields(self, client: Any) -> None:
        response = await client.post("/products", json={"product": {"name": [], "price": "x"}})
        body = await problem(response, 422)
        assert set(body["errors"]) == {"name", "price"}

    async def test_malformed_json_is_400(self, client: Any) -> None:
        response = await client.post(
            "/products", data=b'{"name": ', headers={"Content-Type": "application/json"}
        )
        body = await problem(response, 400)
        assert body["title"] == "Malformed JSON"

    async def test_empty_body_is_400(self, client: Any) -> None:
        response = await client.post("/products", data=b"  ", headers={"Content-Type": "application/json"})
        await problem(response, 400)

    @pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 300, 480])
    async def test_json_nested_too_deeply_is_400(self, client: Any, levels: int) -> None:
        # Valid JSON that no service could store and render again (orjson writes 255 levels).
        nested = b"[" * levels + b"]" * levels
        response = await client.post(
            "/products",
            data=b'{"name": "a", "price": 1, "tags": ' + nested + b"}",
            headers={"Content-Type": "application/json"},
        )
        body = await problem(response, 400)
        assert body["title"] == "JSON nested too deeply" and str(MAX_DEPTH) in body["detail"]

    async def test_json_nested_to_the_limit_is_read(self, client: Any) -> None:
        tags = b"[" * (MAX_DEPTH - 2) + b'"x"' + b"]" * (MAX_DEPTH - 2)
        response = await client.post(
            "/products",
            data=b'{"product": {"name": "a", "price": 1, "tags": ' + tags + b"}}",
            headers={"Content-Type": "application/json"},
        )
        body = await problem(response, 422)  # read, then refused by the model: tags are strings
        assert set(body["errors"]) == {"tags.0"}

    async def test_non_json_content_type_is_415(self, client: Any) -> None:
        response = await client.post(
            "/products",
            data=b"name=a&price=1",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        await problem(response, 415)

    async def test_too_large_is_413(self, client: Any) -> None:
        big = b'{"name": "' + b"x" * (2 * MAX_BODY) + b'", "price": 1}'
        response = await client.post("/products", data=big, headers={"Content-Type": "application/json"})
        body = await problem(response, 413)
        assert str(MAX_BODY) in body["detail"]


@pytest.mark.parametrize(
    ("value", "levels"),
    [(1, 0), ("x", 0), ([], 1), ({}, 1), ({"a": [1, {"b": []}]}, 4), ([[], [[[]]], {}], 4)],
)
def test_depth_counts_levels_of_arrays_and_objects(value: Any, levels: int) -> None:
    assert depth(value) == levels


def test_depth_needs_no_recursion() -> None:
    value: Any = []
    for _ in range(100_000):
        value = [value]
    assert depth(value) == 100_001


class Terms(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    url: str


def test_a_server_field_a_model_declares_is_kept_and_the_others_dropped() -> None:
    """A license's ``url`` is data (its terms' address); an echoed ``path`` is not."""
    echoed = {"name": "MIT", "url": "https://opensource.org/license/mit", "path": "/licenses/1"}
    assert parse_model(Terms, echoed, "license") == Terms(
        name="MIT", url="https://opensource.org/license/mit"
    )

"""Merging service documents: routed paths only, clashing components renamed."""

from __future__ import annotations

from openapi_spec_validator import validate

from hspm.gateway.docs.openapi import merge
from hspm.gateway.forwarding.routing import RouteTable
from hspm.gateway.routes import RULES

TABLE = RouteTable(RULES)


def doc(path: str, schemas: dict, ref: str = "Thing") -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": {
            path: {
                "get": {
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {
                                "application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}
                            },
                        }
                    }
                }
            }
        },
        "components": {"schemas": schemas},
    }


class TestMerge:
    def test_only_paths_routed_to_the_service_are_kept(self):
        identity = doc("/roles", {"Thing": {"type": "object"}})
        identity["paths"]["/products"] = identity["paths"]["/roles"]
        merged = merge({"identity": identity}, TABLE)
        assert "/roles" in merged["paths"]
        assert "/products" not in merged["paths"]

    def test_equal_components_are_shared(self):
        same = {"Thing": {"type": "string"}}
        merged = merge({"identity": doc("/roles", same), "catalog": doc("/badges", same)}, TABLE)
        assert [n for n in merged["components"]["schemas"] if "Thing" in n] == ["Thing"]
        validate(merged)

    def test_clash_is_prefixed_with_the_later_service(self):
        merged = merge(
            {
                "identity": doc("/roles", {"Thing": {"type": "string"}}),
                "catalog": doc("/badges", {"Thing": {"type": "integer"}}),
            },
            TABLE,
            unavailable=["curation"],
        )
        schemas = merged["components"]["schemas"]
        assert schemas["Thing"] == {"type": "string"}
        assert schemas["catalog_Thing"] == {"type": "integer"}
        badge = merged["paths"]["/badges"]["get"]["responses"]["200"]["content"]
        assert badge["application/json"]["schema"]["$ref"] == "#/components/schemas/catalog_Thing"
        assert merged["x-hspm-unavailable"] == ["curation"]
        validate(merged)

    def test_inputs_are_not_modified(self):
        catalog = doc("/badges", {"Thing": {"type": "integer"}})
        before = repr(catalog)
        merge({"identity": doc("/roles", {"Thing": {"type": "string"}}), "catalog": catalog}, TABLE)
        assert repr(catalog) == before

    def test_gateway_only_document_is_valid(self):
        validate(merge({}, TABLE))

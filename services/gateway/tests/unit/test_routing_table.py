"""The route table: most specific prefix wins, whole segments only."""

from __future__ import annotations

import pytest

from hspm.gateway.forwarding.routing import RouteTable, Rule, is_traversal
from hspm.gateway.routes import RULES

TABLE = RouteTable(RULES)


def owner(path: str) -> str | None:
    rule = TABLE.match(path)
    return rule.service if rule else None


class TestRouteTable:
    @pytest.mark.parametrize(
        ("path", "service"),
        [
            ("/users", "identity"),
            ("/users/", "identity"),
            ("/users/1/platforms", "notifier"),
            ("/users/1/platformsx", "identity"),
            ("/users//platforms", "identity"),
            ("/products/1/builds/2/validations", "curation"),
            ("/products/1/builds/2/validationsx", "catalog"),
            ("/validation_policy", "curation"),
            ("/validation_policy/exceptions/1", "curation"),
            ("/validation_policyx", None),
            ("/products/1/licenses/3", "licensing"),
            ("/products/{product_id}/licenses", "licensing"),
            ("/websocket", "notifier"),
            ("/ui", "web"),
            ("/status", "identity"),
            ("/device_authorizations", "identity"),
            ("/device_authorizations/token", "identity"),
            ("/device_authorizations/approve", "identity"),
            ("/", None),
            ("/internal/sessions/1", None),
            ("/productsx", None),
            ("/marketplace/validate", "catalog"),
            ("/products/1/logo/small", "catalog"),
            ("/products/1/screenshots/2/large", "catalog"),
            ("/products/1/builds/2/asset", "catalog"),
        ],
    )
    def test_owner(self, path, service):
        assert owner(path) == service

    def test_literal_segment_beats_parameter_of_equal_length(self):
        table = RouteTable([Rule("/a/{x}/c", "param"), Rule("/a/b/c", "literal"), Rule("/a", "root")])
        assert table.match("/a/b/c/d").service == "literal"
        assert table.match("/a/z/c").service == "param"
        assert table.match("/a/z").service == "root"

    def test_flags(self):
        assert TABLE.match("/websockets").websocket
        assert not TABLE.match("/sessions").json_only
        assert not TABLE.match("/identity_providers/1/redirect").json_only
        assert TABLE.match("/identity_providers/1").json_only
        assert not TABLE.match("/products/1/logo/medium").json_only
        assert not TABLE.match("/products/1/screenshots/2/small").json_only
        assert not TABLE.match("/products/1/builds/2/asset").json_only
        assert TABLE.match("/products/1/screenshots/2").json_only
        assert TABLE.match("/products/1/logos").json_only
        assert TABLE.match("/marketplace/validate").json_only

    def test_first_segment_must_be_literal(self):
        with pytest.raises(ValueError):
            Rule("/{x}/y", "nope")

    def test_first_segments_cover_every_rule(self):
        assert set(TABLE.first_segments()) == {r.prefix.strip("/").split("/")[0] for r in RULES}


class TestTraversal:
    @pytest.mark.parametrize("path", ["/users/../x", "/users/%2e%2E/x", "/a/./b", "/a/%2E"])
    def test_dot_segments(self, path):
        assert is_traversal(path)

    @pytest.mark.parametrize("path", ["/users/1", "/users/a.b", "/users/...", "/.well-known/jwks.json"])
    def test_ordinary_paths(self, path):
        assert not is_traversal(path)

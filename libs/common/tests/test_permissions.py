"""The permission template: normalizing role documents and the union of grants."""

from __future__ import annotations

import pytest

from hspm.common.permissions import (
    ALL_KEYS,
    MANAGE,
    TEMPLATE,
    PermissionError_,
    as_document,
    granted,
    normalize,
    union,
)


def all_false() -> dict[str, dict[str, bool]]:
    return {r: dict.fromkeys(verbs, False) for r, verbs in TEMPLATE.items()}


class TestNormalize:
    def test_empty_document_is_the_all_false_template(self) -> None:
        assert normalize({}) == all_false()

    def test_given_values_merge_into_the_template(self) -> None:
        result = normalize({"products": {"read": True, "publish": True}, "users": {"read": False}})
        expected = all_false()
        expected["products"].update(read=True, publish=True)
        assert result == expected

    @pytest.mark.parametrize(
        ("value", "flag"),
        [
            ("true", True),
            ("false", False),
            ("1", True),
            ("0", False),
            (1, True),
            (0, False),
            (None, False),
            (True, True),
            (False, False),
        ],
    )
    def test_coerces_boolean_spellings(self, value: object, flag: bool) -> None:
        assert normalize({"builds": {"validate": value}})["builds"]["validate"] is flag

    def test_unknown_resource_is_refused_by_name(self) -> None:
        with pytest.raises(PermissionError_) as info:
            normalize({"spaceships": {"read": True}})
        assert info.value.messages == ["unknown resource 'spaceships'"]

    def test_unknown_verb_is_refused_by_name(self) -> None:
        with pytest.raises(PermissionError_) as info:
            normalize({"products": {"fly": True}})
        assert info.value.messages == ["unknown verb 'products.fly'"]

    @pytest.mark.parametrize("value", ["yes", "TRUE", 2, 0.5, [], {}])
    def test_non_boolean_is_refused_by_name(self, value: object) -> None:
        with pytest.raises(PermissionError_) as info:
            normalize({"products": {"read": value}})
        assert info.value.messages == ["'products.read' must be a boolean"]

    def test_verbs_must_be_an_object(self) -> None:
        with pytest.raises(PermissionError_) as info:
            normalize({"products": ["read"]})
        assert info.value.messages == ["'products' must be an object of verb: boolean"]

    @pytest.mark.parametrize("document", [None, [], "everything", 1])
    def test_document_must_be_an_object(self, document: object) -> None:
        with pytest.raises(PermissionError_, match="must be a JSON object"):
            normalize(document)

    def test_every_problem_is_reported_at_once(self) -> None:
        with pytest.raises(PermissionError_) as info:
            normalize({"spaceships": {}, "products": {"fly": True, "read": "maybe"}})
        assert sorted(info.value.messages) == [
            "'products.read' must be a boolean",
            "unknown resource 'spaceships'",
            "unknown verb 'products.fly'",
        ]
        assert str(info.value) == "; ".join(info.value.messages)
        assert isinstance(info.value, ValueError)


class TestUnion:
    def test_any_true_in_any_role_grants(self) -> None:
        reader = normalize({"products": {"read": True}})
        writer = normalize({"products": {"update": True}, "reviews": {"read": False}})
        assert union([reader, writer]) == {"products.read", "products.update"}

    def test_no_roles_grant_nothing(self) -> None:
        assert union([]) == set()

    def test_keys_outside_the_template_never_grant(self) -> None:
        stale = {"products": {"read": True}, "legacy": {"launch": True}}
        assert union([stale]) == {"products.read"}

    def test_everything_manage_is_a_grant_like_any_other(self) -> None:
        admin = normalize({"everything": {"manage": True}})
        assert union([admin]) == {MANAGE}

    def test_granted_lists_true_values(self) -> None:
        assert granted({"a": {"x": True, "y": False}, "b": {"z": True}}) == {"a.x", "b.z"}


class TestAsDocument:
    def test_renders_keys_in_the_full_template_shape(self) -> None:
        document = as_document({"products.read", "users.read_self"})
        expected = all_false()
        expected["products"]["read"] = True
        expected["users"]["read_self"] = True
        assert document == expected

    def test_round_trips_with_granted(self) -> None:
        assert granted(as_document(ALL_KEYS)) == set(ALL_KEYS)
        assert granted(as_document(set())) == set()

    def test_unknown_keys_are_not_rendered(self) -> None:
        assert as_document({"legacy.launch"}) == all_false()


class TestTemplate:
    def test_all_keys_are_resource_dot_verb(self) -> None:
        assert MANAGE in ALL_KEYS
        assert len(ALL_KEYS) == sum(len(v) for v in TEMPLATE.values())

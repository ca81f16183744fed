"""The test-level markers: ``system`` or ``integration`` by directory, else by the real parts used."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hspm.common.testing.plugin import REAL_PARTS, level_of, pytest_collection_modifyitems

FLAT = ("tools", "devstack", "tests", "test_stack.py")
UNIT = ("services", "catalog", "tests", "unit", "test_rules.py")
INTEGRATION = ("services", "catalog", "tests", "integration", "test_products.py")
SYSTEM = ("tests", "system", "test_login.py")


class TestLevelOf:
    @pytest.mark.parametrize(
        ("parts", "fixtures", "level"),
        [
            (FLAT, set(), "unit"),
            (FLAT, {"tmp_path", "monkeypatch"}, "unit"),
            (UNIT, set(), "unit"),
            (UNIT, {"pg_dsn"}, "integration"),
            (INTEGRATION, set(), "integration"),
            (INTEGRATION, {"pg_dsn"}, "integration"),
            (SYSTEM, set(), "system"),
            # The directory decides before the fixtures: a system test uses real parts too.
            (SYSTEM, {"pg_dsn", "amqp_url"}, "system"),
        ],
        ids=["flat", "flat-plain-fixtures", "unit", "unit-with-pg", "integration", "integration-with-pg"]
        + ["system", "system-with-real-parts"],
    )
    def test_cases(self, parts: tuple[str, ...], fixtures: set[str], level: str) -> None:
        assert level_of(parts, fixtures) == level

    @pytest.mark.parametrize("part", sorted(REAL_PARTS))
    def test_each_real_part_makes_an_integration_test(self, part: str) -> None:
        assert level_of(FLAT, {part}) == "integration"
        assert level_of(FLAT, frozenset({part, "tmp_path"})) == "integration"

    def test_the_nearest_directory_wins(self) -> None:
        assert level_of(("tests", "system", "integration", "test_x.py"), set()) == "integration"
        assert level_of(("tests", "integration", "system", "test_x.py"), set()) == "system"

    def test_the_real_parts_are_the_documented_ones(self) -> None:
        assert frozenset({"pg_dsn", "amqp_url", "oci_registry", "sample_images"}) == REAL_PARTS


@dataclass
class FakeItem:
    """The parts of a collected test the marker hook reads and writes."""

    path: Path
    fixturenames: list[str]
    markers: list[str] = field(default_factory=list)

    @property
    def nodeid(self) -> str:
        return str(self.path)

    def add_marker(self, marker: pytest.MarkDecorator) -> None:
        self.markers.append(marker.name)


class TestCollectionHook:
    def test_each_test_gets_its_level(self) -> None:
        items = [FakeItem(Path(*UNIT), []), FakeItem(Path(*FLAT), ["pg_dsn"]), FakeItem(Path(*SYSTEM), [])]
        pytest_collection_modifyitems(None, items)  # type: ignore[arg-type]
        assert [i.markers for i in items] == [["unit"], ["integration"], ["system"]]

    def test_a_unit_test_reaching_a_real_part_fails_collection(self) -> None:
        items = [FakeItem(Path(*UNIT), ["tmp_path", "amqp_url"])]
        with pytest.raises(pytest.UsageError, match="amqp_url"):
            pytest_collection_modifyitems(None, items)  # type: ignore[arg-type]

"""Public API export test (as httpx does): ``__all__`` is exactly what a package exports."""

from __future__ import annotations
import __future__

import importlib
import inspect
import types

import pytest

PACKAGES = ["hspm.common", "hspm.common.web", "hspm.common.events"]


def public_names(module: types.ModuleType) -> set[str]:
    """Public attributes, minus submodules and ``from __future__`` features."""
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType | __future__._Feature)
    }


def isort_style(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps ``__all__`` in: CONSTANTS, then Classes, then functions."""
    if len(name) > 1 and name.isupper():
        return 0, name
    return (1 if name[:1].isupper() else 2), name


@pytest.mark.parametrize("package", PACKAGES)
class TestExports:
    def test_all_is_sorted_and_unique(self, package: str) -> None:
        exported = importlib.import_module(package).__all__
        assert exported == sorted(set(exported), key=isort_style)

    def test_all_equals_the_public_names(self, package: str) -> None:
        module = importlib.import_module(package)
        assert set(module.__all__) == public_names(module)

    def test_exported_classes_and_functions_are_the_librarys_own(self, package: str) -> None:
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                assert value.__module__.startswith("hspm.common."), f"{package}.{name}"


class TestIsortStyle:
    def test_constants_then_classes_then_functions(self) -> None:
        names = ["parse", "Api", "PAGED", "Crud", "created", "EVENT_TYPES", "Event", "T"]
        assert sorted(names, key=isort_style) == ["EVENT_TYPES", "PAGED", "Api", "Crud", "Event", "T"] + [
            "created",
            "parse",
        ]

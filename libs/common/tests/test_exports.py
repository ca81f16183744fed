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


@pytest.mark.parametrize("package", PACKAGES)
class TestExports:
    def test_all_is_sorted_and_unique(self, package: str) -> None:
        exported = importlib.import_module(package).__all__
        assert exported == sorted(set(exported))

    def test_all_equals_the_public_names(self, package: str) -> None:
        module = importlib.import_module(package)
        assert set(module.__all__) == public_names(module)

    def test_exported_classes_and_functions_are_the_librarys_own(self, package: str) -> None:
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                assert value.__module__.startswith("hspm.common."), f"{package}.{name}"

"""The shape every service holds to (docs/adr/0014-one-service-template.md), checked.

The import contracts themselves run in ``make lint`` (``lint-imports``); these tests hold
what import-linter cannot see (file sizes, SQL outside stores, the entry point) and show
that a broken contract really fails the build.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (REPO / "services").iterdir() if (p / "src" / "hspm").is_dir())
MAX_LINES = 400
# asyncpg's query methods: calling one outside a store is SQL outside a store.
QUERY_METHODS = {"fetch", "fetchrow", "fetchval", "execute", "executemany", "copy_records_to_table"}
# The house writes SQL keywords in capitals; prose ("Update a product") never matches.
SQL_TEXT = re.compile(r"^\s*(SELECT|INSERT\s+INTO|UPDATE|DELETE\s+FROM|WITH)\s")


def service_sources(with_database_only: bool = False) -> list[Path]:
    return sorted(
        p
        for svc in SERVICES
        if not with_database_only or (REPO / "services" / svc / "src/hspm" / svc / "migrations").is_dir()
        for p in (REPO / "services" / svc / "src").rglob("*.py")
    )


def library_sources() -> list[Path]:
    return sorted((REPO / "libs").glob("*/src/**/*.py"))


def is_store(path: Path) -> bool:
    return path.name == "store.py" or path.parent.name == "store"


def test_no_source_file_is_longer_than_the_limit() -> None:
    too_long = {
        str(p.relative_to(REPO)): n
        for p in [*service_sources(), *library_sources()]
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}


def _queries_and_sql(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in QUERY_METHODS:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} calls .{node.func.attr}()")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.match(node.value):
            found.append(f"{path.relative_to(REPO)}:{node.lineno} holds SQL text")
    return found


def test_all_sql_of_a_service_lives_in_its_stores() -> None:
    """Services with a database keep every query in a store module (the gateway and the
    validator have none; their ``.fetch()`` is an HTTP client's)."""
    sources = service_sources(with_database_only=True)
    offenders = [hit for p in sources if not is_store(p) for hit in _queries_and_sql(p)]
    assert offenders == []


@pytest.mark.parametrize("service", SERVICES)
def test_every_entry_point_is_the_template(service: str) -> None:
    """``__main__.py``: a docstring, three imports and ``run(create_app, Settings)``."""
    tree = ast.parse((REPO / "services" / service / "src" / "hspm" / service / "__main__.py").read_text())
    docstring, *imports, guard = tree.body
    assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
    found = sorted(
        (i.module, tuple(a.name for a in i.names)) for i in imports if isinstance(i, ast.ImportFrom)
    )
    assert found == sorted(
        [
            (f"hspm.{service}.app", ("create_app",)),
            (f"hspm.{service}.config", ("Settings",)),
            ("hspm.common.runner", ("run",)),
        ]
    )
    assert len(imports) == 3
    assert ast.unparse(guard) == "if __name__ == '__main__':\n    run(create_app, Settings)"


def test_a_handler_importing_a_store_breaks_the_import_contracts(tmp_path: Path) -> None:
    """The dry run of a broken contract: the same check ``make lint`` (and so CI) runs."""
    copy = tmp_path / "hspm" / "catalog"
    shutil.copytree(REPO / "services/catalog/src/hspm/catalog", copy)
    handlers = copy / "products" / "handlers.py"
    handlers.write_text(handlers.read_text() + "\nfrom hspm.catalog.products import store  # noqa\n")
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--config", str(REPO / ".importlinter")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout
    assert "hspm.catalog.products.handlers -> hspm.catalog.products.store" in result.stdout


def test_the_import_contracts_hold_for_the_tree_as_it_is() -> None:
    """The control for the dry run above: the unmodified tree keeps every contract."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout

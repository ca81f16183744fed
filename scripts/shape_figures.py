"""Print the codebase's shape figures: files over 400 lines, function lengths, contracts.

Run from the repository root: ``uv run python scripts/shape_figures.py [ROOT]``. The
figures cover source under ``services/`` and ``libs/`` (not tests), the same scope the
shape tests in ``tests/architecture/`` hold to.
"""

from __future__ import annotations

import ast
import configparser
import statistics
import sys
from pathlib import Path

LIMIT = 400


def source_files(root: Path) -> list[Path]:
    found = [*root.glob("services/*/src/**/*.py"), *root.glob("libs/*/src/**/*.py")]
    return sorted(p for p in found if "/tests/" not in p.as_posix())


def function_lengths(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        (node.end_lineno or node.lineno) - node.lineno + 1
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def main(root: Path) -> None:
    files = source_files(root)
    sizes = {p: len(p.read_text().splitlines()) for p in files}
    over = sorted(((n, p) for p, n in sizes.items() if n > LIMIT), reverse=True)
    lengths = sorted(n for p in files for n in function_lengths(p))
    contracts = 0
    config = root / ".importlinter"
    if config.exists():
        parser = configparser.ConfigParser()
        parser.read(config)
        contracts = sum(1 for s in parser.sections() if s.startswith("importlinter:contract:"))
    p90 = statistics.quantiles(lengths, n=10)[-1]
    print(f"source files: {len(files)}, lines: {sum(sizes.values())}")
    print(f"files over {LIMIT} lines: {len(over)}")
    for n, p in over:
        print(f"  {n:5d} {p.relative_to(root)}")
    median = statistics.median(lengths)
    print(f"functions: {len(lengths)}, length median {median:.0f}, p90 {p90:.0f}, max {lengths[-1]}")
    print(f"import contracts: {contracts}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve())

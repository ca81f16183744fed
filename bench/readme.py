"""The README's "Latest benchmark" section: the table of the last full ``make bench`` run.

Only a run of every benchmark rewrites it (a run of one would leave the table partial),
between two markers, with the date and the machine the figures come from.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
START = "<!-- bench:start -->"
END = "<!-- bench:end -->"


def machine() -> str:
    """CPU model, cores, memory, kernel and Python of this machine, in one line."""
    model = "unknown CPU"
    memory = ""
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
        kib = int(re.findall(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[0])
        memory = f", {kib / 1024 / 1024:.0f} GiB"
    except (OSError, IndexError, ValueError):
        pass
    cores = os.cpu_count() or 0
    return f"{model}, {cores} cores{memory}, Linux {platform.release()}, Python {platform.python_version()}"


def update(table: str, path: Path = README) -> bool:
    """Put ``table`` between the markers; False (and nothing written) when they are missing."""
    text = path.read_text()
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        return False
    path.write_text(text[: start + len(START)] + "\n" + table + "\n" + text[end:])
    return True

"""Files only their owner may read: the stack's secrets and the tokens it hands out."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 600, never readable by others, not even briefly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created with mode 600 rather than chmod-ed after the write: no window in which a
    # token sits in a world-readable file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    # O_CREAT leaves the mode of a file that already existed alone.
    path.chmod(0o600)

"""Reading back a run's overlayfs upper layer where that needs root (whiteouts are device nodes)."""

from __future__ import annotations

import os
from pathlib import Path

from hspm.common.testing import unavailable
from hspm.validator.sandbox import mounts


class TestListWrites:
    def test_whiteouts_are_deletions(self, tmp_path: Path) -> None:
        if os.geteuid() != 0:
            unavailable("a whiteout is a 0/0 character device: mknod needs root")
        lower, upper = tmp_path / "lower", tmp_path / "upper"
        (lower / "etc").mkdir(parents=True)
        (upper / "etc").mkdir(parents=True)
        os.mknod(upper / "etc/motd", 0o600 | 0o020000, os.makedev(0, 0))
        assert mounts.list_writes(upper, lower) == ["/etc/motd (deleted)"]

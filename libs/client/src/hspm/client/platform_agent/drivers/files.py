"""What the rendering drivers share: one file per instance, its generation in its first line.

The file is the unit: present with the wanted generation means rendered. Writes go to a
temporary file renamed into place, so a crash never leaves half a manifest behind.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import yaml

from hspm.client.platform_agent.desired import InstanceSpec
from hspm.client.platform_agent.drivers.base import Unit

_HEADER = re.compile(r"# hspm instance (\S+) generation (\S+)")


class RenderedFiles:
    def __init__(self, folder: Path, suffix: str) -> None:
        self.folder = folder
        self.suffix = suffix

    def path(self, instance_id: str) -> Path:
        return self.folder / f"{instance_id}{self.suffix}"

    def prepare(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def units(self) -> list[Unit]:
        found = []
        for path in sorted(self.folder.glob(f"*{self.suffix}")):
            with path.open() as f:
                match = _HEADER.match(f.readline())
            if match:
                found.append(Unit(match[1], match[2], path.name, running=True))
        return found

    def write(self, spec: InstanceSpec, documents: Iterable[dict[str, Any]]) -> Path:
        header = f"# hspm instance {spec.instance_id} generation {spec.fingerprint}\n"
        body = yaml.safe_dump_all(list(documents), sort_keys=False, default_flow_style=False)
        path = self.path(spec.instance_id)
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(header + body)
        os.replace(temporary, path)
        return path

    def doomed(self, instance_id: str, generations: Collection[str] | None) -> Path | None:
        """The instance's file if it holds one of ``generations`` (any, for None)."""
        for unit in self.units():
            if unit.instance_id == instance_id and (generations is None or unit.fingerprint in generations):
                return self.path(instance_id)
        return None


def short(instance_id: str) -> str:
    """The instance's id cut to fit names limited to 63 characters (labels keep it whole)."""
    return instance_id.replace("-", "")[:12]

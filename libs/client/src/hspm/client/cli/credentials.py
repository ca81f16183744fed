"""Where ``hspm login`` keeps its tokens: ``$XDG_CONFIG_HOME/hspm/credentials.json``.

One entry per marketplace URL, so signing in to a second marketplace does not sign out of
the first. The file is the user's alone (0600, in a 0700 directory) and is replaced
atomically, so a crash never leaves half a file. ``HSPM_TOKEN`` in the environment (a
CI's API token) wins over the file and is never written to it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FILE_MODE = 0o600
DIR_MODE = 0o700


def normalize_url(url: str) -> str:
    """The key a marketplace is filed under: its URL without a trailing slash."""
    return url.strip().rstrip("/")


def path(env: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/hspm/credentials.json``, with the XDG default of ``~/.config``."""
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "hspm" / "credentials.json"


def load(env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Every stored sign-in by URL; an absent or unreadable file is no sign-in at all."""
    try:
        data = json.loads(path(env).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("token"), str)}


def find(url: str, env: Mapping[str, str]) -> dict[str, Any] | None:
    """The stored sign-in for this marketplace, if any."""
    return load(env).get(normalize_url(url))


def _write(env: Mapping[str, str], data: dict[str, dict[str, Any]]) -> None:
    """Replace the file atomically; created 0600 so the token is never readable by others."""
    target = path(env)
    target.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as stream:
        json.dump(data, stream, indent=2, sort_keys=True)
    os.chmod(temporary, FILE_MODE)  # an existing temporary keeps its mode through O_CREAT
    os.replace(temporary, target)


def save(url: str, record: dict[str, Any], env: Mapping[str, str]) -> Path:
    """Remember a sign-in for this marketplace (replacing an earlier one); returns the file."""
    data = load(env)
    data[normalize_url(url)] = record
    _write(env, data)
    return path(env)


def forget(url: str, env: Mapping[str, str]) -> dict[str, Any] | None:
    """Drop this marketplace's sign-in; returns what was stored, if anything."""
    data = load(env)
    gone = data.pop(normalize_url(url), None)
    if gone is not None:
        _write(env, data)
    return gone

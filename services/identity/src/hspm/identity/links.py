"""The spec's ``path`` and absolute ``url`` fields, which every resource's JSON carries."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg


def linked(row: asyncpg.Record, fields: Iterable[str], base: str, path: str, **extra: Any) -> dict[str, Any]:
    """``fields`` of ``row``, then ``extra``, then ``path`` and ``url`` (``base`` + ``path``)."""
    body = {k: row[k] for k in fields} | extra
    body["path"] = path
    body["url"] = base + path
    return body

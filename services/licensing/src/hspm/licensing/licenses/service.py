"""Rules of licenses: public usage terms (spec 4.1), written by staff only.

Anyone may read a license, anonymous callers too: a customer reads the terms before
acquiring. Writing needs ``licenses.create/update/delete``; nobody owns a license.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from hspm.common.auth import Principal
from hspm.common.db import Conn
from hspm.common.errors import Conflict, NotFound, ValidationFailed
from hspm.common.paging import PageParams
from hspm.licensing import terms
from hspm.licensing.licenses import models, store
from hspm.licensing.offers import service as offers

Record = asyncpg.Record
SORTS = ("name", "url", "external_id", "expires_at", "created_at")
MAX_FILTER_LENGTH = 200

# Which field a unique index is about (the index names of 0001_licensing.sql).
_UNIQUE_FIELDS = {"licenses_pkey": "id", "licenses_name": "name", "licenses_url": "url"}
# Required columns a partial update may leave out but not null.
_REQUIRED = ("name", "description", "url", "expiry", "days_valid", "uses")


@contextmanager
def _unique() -> Iterator[None]:
    """A taken id, name (any case) or url: 409 naming the field."""
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        field = _UNIQUE_FIELDS.get(exc.constraint_name or "", "id")
        message = "has already been taken"
        raise Conflict(f"A license with this {field} already exists.", errors={field: [message]}) from exc


def check_terms(license: Mapping[str, Any]) -> None:
    """The rules across fields, on the license as it will be stored."""
    errors: dict[str, list[str]] = {}
    if license["expiry"] == "absolute_date" and license["expires_at"] is None:
        errors["expires_at"] = ["can't be blank for an absolute_date license"]
    if license["expiry"] == "relative_date" and license["days_valid"] <= 0:
        errors["days_valid"] = ["must be greater than 0 for a relative_date license"]
    if errors:
        raise ValidationFailed(errors)


async def get_license(conn: Conn, p: Principal, license_id: UUID) -> Record:
    """Anyone may read a license, anonymous callers too: licenses are public terms."""
    del p  # no rule: kept in the signature so every read names its caller
    row = await store.get_license(conn, license_id)
    if row is None:
        raise NotFound("License not found.")
    return row


async def list_licenses(
    conn: Conn, page: PageParams, name: str | None, expiry: str | None
) -> tuple[list[Record], int]:
    """Filtered by ``name`` prefix (any case) and ``expiry`` type."""
    if expiry and expiry not in terms.EXPIRIES:
        raise ValidationFailed.field("expiry", f"must be one of: {', '.join(terms.EXPIRIES)}")
    if name and len(name) > MAX_FILTER_LENGTH:
        raise ValidationFailed.field("name", f"must be at most {MAX_FILTER_LENGTH} characters")
    return await store.list_licenses(conn, page, name, expiry)


async def create_license(conn: Conn, p: Principal, body: models.LicenseCreate) -> Record:
    p.require("licenses", "create")
    fields = body.model_dump(exclude={"id"}) | {"id": body.id or uuid4()}
    check_terms(fields)
    with _unique():
        return await store.insert_license(conn, fields)


async def update_license(conn: Conn, p: Principal, license_id: UUID, body: models.LicenseUpdate) -> Record:
    """Renaming announces every offer of the license again, so copies of its name follow."""
    p.require("licenses", "update")
    before = await store.get_license(conn, license_id, lock=True)
    if before is None:
        raise NotFound("License not found.")
    fields = body.model_dump(exclude_unset=True)
    blank = [k for k in _REQUIRED if k in fields and fields[k] is None]
    if blank:
        raise ValidationFailed(dict.fromkeys(blank, ["can't be blank"]))
    check_terms(dict(before) | fields)
    if not fields:
        return before
    with _unique():
        row = await store.update_license(conn, license_id, fields)
    assert row is not None  # locked above
    if row["name"] != before["name"]:
        await offers.license_renamed(conn, license_id, row["name"])
    return row


async def delete_license(conn: Conn, p: Principal, license_id: UUID) -> Record:
    """Refused while any product is offered under it: its entitlements would go silently.

    The row lock makes a concurrent offer of this license either commit first (and be
    seen here) or wait for this delete and fail on its foreign key.
    """
    p.require("licenses", "delete")
    row = await store.get_license(conn, license_id, lock=True)
    if row is None:
        raise NotFound("License not found.")
    offered = await offers.count_offers_of_license(conn, license_id)
    if offered:
        raise Conflict(
            f"The license is offered under {offered} product(s); "
            "withdraw those product licenses before deleting it."
        )
    await store.delete_license(conn, license_id)
    return row

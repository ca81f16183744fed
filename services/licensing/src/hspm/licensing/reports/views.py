"""Report rows as JSON and as the flat rows CSV writes, with the report's own terms."""

from __future__ import annotations

from typing import Any

import asyncpg

from hspm.licensing.reports import service
from hspm.licensing.reports.models import Filters, SharingRule, UsageQuery

SHARING_COLUMNS = (
    "claim_id",
    "entitlement_id",
    "claimant_type",
    "claimant_id",
    "product_ids",
    "product_names",
    "window_start",
    "window_end",
    "attempts",
    "distinct_sources",
    "sources",
    "first_at",
    "last_at",
)


def usage_columns(group_by: str) -> tuple[str, ...]:
    return service.usage_columns(group_by)


def usage_row(row: asyncpg.Record, group_by: str) -> dict[str, Any]:
    return {k: row[k] for k in service.usage_columns(group_by)}


def sharing_row(row: asyncpg.Record, base: str) -> dict[str, Any]:
    """A suspect window, with links to the claim and entitlement an auditor acts on."""
    body = {k: row[k] for k in SHARING_COLUMNS if k not in ("product_ids", "product_names")}
    body["products"] = row["products"]
    entitlement = f"{base}/entitlements/{row['entitlement_id']}" if row["entitlement_id"] else None
    body["entitlement_url"] = entitlement
    body["claim_url"] = f"{entitlement}/claims/{row['claim_id']}" if entitlement else None
    return body


def sharing_flat(row: asyncpg.Record) -> dict[str, Any]:
    """The CSV line of a suspect window: the products as two lists of the same order."""
    flat = {k: row[k] for k in SHARING_COLUMNS if k not in ("product_ids", "product_names")}
    products = row["products"] or []
    flat["product_ids"] = [p["id"] for p in products]
    flat["product_names"] = [p["name"] or "" for p in products]
    return flat


def terms(f: Filters, rule: SharingRule, q: UsageQuery | None = None) -> dict[str, Any]:
    """What the report covers and how sharing was judged, beside the paged results."""
    report: dict[str, Any] = {}
    if q is not None:
        report["group_by"] = q.group_by
        if q.group_by == "period":
            report["period"] = q.period
    report |= {
        "from": f.start,
        "to": f.end,
        "product_id": f.product_id,
        "vendor_id": f.vendor_id,
        "claimant_type": f.claimant_type,
        "sharing": {"window_minutes": rule.window_minutes, "max_sources": rule.max_sources},
    }
    return report

"""The spec's product and build labels (§6.5, §3.3) as plain data for the templates.

Pure functions over API documents, so the label reads the same wherever it is shown and
the rules of what goes where are tested without a server.
"""

from __future__ import annotations

from typing import Any

# The label's compatibility rows: marketplace.json's facts keys, in the spec's order.
COMPATIBILITY = (
    ("data_access", "Data access"),
    ("identify_and_access_management", "Identity and access management"),
    ("runtime_dependencies", "Runtime dependencies"),
    ("networking", "Networking and internet"),
)
OTHER_FACTS = (
    ("domain", "Domain categories"),
    ("cybersecurity", "Cybersecurity"),
    ("customer_service", "Customer service"),
)


def _items(value: Any) -> list[str]:
    """A facts entry as lines of text, whatever shape the document gave it."""
    if value is None or value == "":
        return []
    if isinstance(value, list):
        return [line for v in value for line in _items(v)]
    if isinstance(value, dict):
        return [f"{k}: {v}" for k, v in value.items() if v not in (None, "", [])]
    return [str(value)]


def _facts(doc: dict[str, Any] | None) -> dict[str, Any]:
    product = (doc or {}).get("product")
    facts = product.get("facts") if isinstance(product, dict) else None
    return facts if isinstance(facts, dict) else {}


def product_label(
    product: dict[str, Any], doc: dict[str, Any] | None, terms: list[dict[str, Any]]
) -> dict[str, Any]:
    """Facts, stewards, licensing and pricing, technology, compatibility requirements."""
    facts = _facts(doc)
    badges = product.get("badges") or []
    return {
        "offered_by": _items(facts.get("organization")) or ["The product's vendor"],
        "stewards": [*(f"Endorsed: {b['name']}" for b in badges), *_items(facts.get("stewards"))],
        "licensing": [_license_line(t) for t in terms] + _items(facts.get("licensing")),
        "technology": product.get("mime_type") or facts.get("technology_mime_type") or "Not stated",
        "compatibility": [(title, _items(facts.get(key)) or ["Not stated"]) for key, title in COMPATIBILITY],
        "other": [(title, _items(facts.get(key))) for key, title in OTHER_FACTS if _items(facts.get(key))],
        "from_build": doc is not None,
    }


def _license_line(terms: dict[str, Any]) -> str:
    name = str(terms.get("name") or "A license")
    expiry = terms.get("expiration_type") or terms.get("expiry_type")
    return f"{name} ({expiry})" if expiry else name


def build_label(
    build: dict[str, Any],
    doc: dict[str, Any] | None,
    run: dict[str, Any] | None,
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    """Validation results rule by rule, provenance, image digest, configurations and tasks."""
    rules = (run or {}).get("rules") or []
    counts: dict[str, int] = {}
    for rule in rules:
        counts[str(rule.get("status"))] = counts.get(str(rule.get("status")), 0) + 1
    return {
        "image": build.get("image") or _reference(build),
        "digest": build.get("image_digest") or (run or {}).get("digest"),
        "rules": rules,
        "counts": sorted(counts.items()),
        "running": _in_progress(build, run),
        "outcome": (run or {}).get("outcome"),
        "configurations": _configurations(doc),
        "provenance": history,
    }


# A run in one of these states has its final report; a build in one of the others is on
# its way to a run that has not started yet.
FINISHED_RUNS = frozenset({"completed"})
AWAITING_RUN = frozenset({"submitted", "validating"})


def _in_progress(build: dict[str, Any], run: dict[str, Any] | None) -> bool:
    """Whether the page should keep following the validation (htmx polls while it is)."""
    if run is None:
        return build.get("status") in AWAITING_RUN
    return run.get("status") not in FINISHED_RUNS


def _reference(build: dict[str, Any]) -> str:
    parts = [build.get("container_registry"), build.get("container_repository")]
    ref = "/".join(str(p) for p in parts if p)
    return f"{ref}:{build['container_tag']}" if build.get("container_tag") else ref


def _configurations(doc: dict[str, Any] | None) -> list[dict[str, Any]]:
    configs = (doc or {}).get("configuration") or []
    out = []
    for config in configs if isinstance(configs, list) else []:
        tasks = config.get("task") or []
        out.append(
            {
                "name": config.get("name") or ("default" if config.get("default") else "configuration"),
                "default": bool(config.get("default")),
                "tasks": [
                    {
                        "label": t.get("label") or t.get("name") or "task",
                        "memory": f"{t.get('memory_minimum') or '?'}–{t.get('memory_maximum') or '?'} MiB",
                        "instances": f"{t.get('instances_minimum', 0)}–{t.get('instances_maximum') or '∞'}",
                        "ports": ", ".join(str(p) for p in t.get("ports") or []) or "none",
                        "environment": [
                            e.get("key") for e in t.get("environment") or [] if isinstance(e, dict)
                        ],
                        "cron": t.get("cron"),
                    }
                    for t in tasks
                    if isinstance(t, dict)
                ],
            }
        )
    return out

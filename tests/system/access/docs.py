"""``docs/access-control.md`` is rendered from the table, so the two cannot disagree.

Regenerate after changing the table:
``uv run --frozen python -m tests.system.access.docs`` (run from the repository root).
"""

from __future__ import annotations

from pathlib import Path

from .matrix import MEANING, TOKEN_PERSONAS
from .table import TABLE

DOC = Path(__file__).resolve().parents[3] / "docs" / "access-control.md"
HEADINGS = ("anon", "customer", "ISV owner", "other ISV", "operator", "auditor", "validator")

INTRO = """# Access control: who may call what

Generated from `tests/system/access/table.py` by `tests/system/access/docs.py`; do not
edit by hand (`tests/system/access/test_docs.py` fails when this file and the table differ).

Every operation of the gateway's OpenAPI document, and what each persona gets when it
calls it on **another party's record** (path parameters are the ISV owner's product,
draft build and its parts, and the customer's platform, instance, entitlement, identity
and API token; `{user_id}` is the customer). The system tests in `tests/system/access/`
call every cell against a private marketplace, and check that no listing a persona may
read shows another party's private records (across all pages).

Personas: anonymous (no token); customer (the Customer role every user holds); ISV owner
(the ISV role, owner of the product); another ISV (the ISV role, owns nothing here);
operator; auditor; compliance validator (the Compliance Validator role). The **agents**
of this platform and of another platform hold no REST credential: their Ed25519 key
works on `/websocket` only, so on REST they get exactly the anonymous column (key
material sent as a bearer token is an invalid token: 401). On the socket, another
platform's agent can neither authenticate as this platform nor subscribe to, report on
or acknowledge its instances and recalls (`tests/system/access/test_socket.py`).

Records a caller may not see are answered 404, not 403, so their existence is not given
away; 403 means the record is visible (or there is none) but the permission is missing.

## Adding a route

1. Add a row for it to `tests/system/access/table.py` (the test
   `test_the_table_covers_every_operation_of_the_openapi_document` fails until you do):
   one code per persona, for a call on another party's record. Decide each code from the
   rules (roles in `services/identity/.../migrations`, ownership in the service), not from
   what the route happens to answer.
2. If its path has a new parameter, seed a record of that kind in
   `tests/system/access/world.py` (owned by the ISV owner or the customer).
3. Regenerate this file: `uv run --frozen python -m tests.system.access.docs`.
4. Run `uv run --frozen pytest tests/system/access -q -p no:cacheprovider`.

## Codes

"""


def render() -> str:
    lines = [INTRO.rstrip("\n"), ""]
    lines += [f"- `{code}`: {meaning}" for code, meaning in MEANING.items()]
    lines += ["", "## The matrix", ""]
    lines.append("| operation | " + " | ".join(HEADINGS) + " | note |")
    lines.append("|---|" + "---|" * (len(TOKEN_PERSONAS) + 1))
    for row in TABLE:
        cells = " | ".join(row.codes)
        lines.append(f"| `{row.method} {row.path}` | {cells} | {row.note} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    DOC.write_text(render())

"""How the table is read: personas, outcome codes, rows.

Each row gives one operation of the gateway's OpenAPI document and, for the seven
personas that hold (or lack) a REST credential, one code each. The two agent personas
hold no REST credential (an agent's key is a WebSocket credential only), so on REST they
are expected to be treated exactly like the anonymous caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The order of the codes in a row.
TOKEN_PERSONAS = ("anonymous", "customer", "isv", "other_isv", "operator", "auditor", "validator")
AGENT_PERSONAS = ("agent_here", "agent_other")
PERSONAS = TOKEN_PERSONAS + AGENT_PERSONAS

ALLOW = "A"  # 2xx or 3xx
DESTRUCTIVE = "D"  # allowed, but it would destroy the shared world (or the caller's token): not sent
STATUS = {"1": 401, "3": 403, "4": 404, "V": 422, "C": 409, "U": 415, "G": 410}
MEANING = {
    ALLOW: "allowed (2xx/3xx)",
    DESTRUCTIVE: "allowed; destructive, so not sent to the shared world",
    "1": "401: no (valid) credential",
    "3": "403: signed in, lacks the permission",
    "4": "404: a record the caller may not see (its existence is not given away)",
    "V": "422: the probe body is refused before authorization is decided",
    "C": "409: allowed, but the record's state refuses the change",
    "U": "415: allowed, but the probe body has the wrong media type",
    "G": "410: allowed, but the record is gone (e.g. an expired license)",
}


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    codes: str  # one code per TOKEN_PERSONAS
    note: str = ""
    # The probe body of a write; ``{}`` unless a real change is needed, e.g. where an empty
    # update is answered as a no-op before the permission is checked.
    body: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert len(self.codes) == len(TOKEN_PERSONAS), (self.method, self.path, self.codes)
        assert set(self.codes) <= set(STATUS) | {ALLOW, DESTRUCTIVE}, (self.method, self.path)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def expected(self, persona: str) -> str:
        """The code for ``persona``; an agent on REST is the anonymous caller."""
        if persona in AGENT_PERSONAS:
            persona = "anonymous"
        return self.codes[TOKEN_PERSONAS.index(persona)]


def r(method: str, path: str, codes: str, note: str = "", body: dict[str, Any] | None = None) -> Row:
    return Row(method, path, codes, note, body or {})


def matches(code: str, status: int) -> bool:
    if code == ALLOW:
        return 200 <= status < 400
    return STATUS[code] == status

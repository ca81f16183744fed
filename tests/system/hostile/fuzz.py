"""Generated requests for every operation of the OpenAPI document, checked against it.

schemathesis turns each operation into a Hypothesis strategy: schema-valid requests
(path ids, query strings, headers and bodies of any content the schema allows, so ids
like ``1' OR '1'='1`` among them) and, for operations with a body, schema-violating
bodies. Each generated request is sent as every persona, and each answer is checked:
no 5xx, a documented status, a documented content type, a body and headers of the
documented schema.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok

Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Any]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Few examples per operation: every persona is sent each of them, and the whole document
# must be covered in seconds. The same inputs every run, so a failure reproduces.
POSITIVE_EXAMPLES = 3
NEGATIVE_EXAMPLES = 1
NEGATIVE_PERSONAS = 3
TIMEOUT = 30.0


@dataclass
class Outcome:
    """What a run found, and what it made (to be deleted again by whoever made it)."""

    failures: list[str] = field(default_factory=list)
    created: list[tuple[str, str]] = field(default_factory=list)
    sent: int = 0
    operations: set[str] = field(default_factory=set)


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )


def _created_path(case: Case, response: schemathesis.Response) -> str | None:
    """The address of a record a create made, from its body (``path``, else collection/id)."""
    content_type = " ".join(response.headers.get("content-type", []))
    if response.status_code != 201 or "json" not in content_type:
        return None
    body = response.json()
    if not isinstance(body, dict) or "id" not in body:
        return None
    path = body.get("path")
    return str(path) if isinstance(path, str) else f"{case.formatted_path.rstrip('/')}/{body['id']}"


def exercise(
    operation: Operation,
    base: str,
    personas: Mapping[str, Mapping[str, str]],
    http: requests.Session,
    outcome: Outcome,
) -> None:
    """Send ``operation``'s generated requests; every persona is sent at least one.

    Example ``i`` goes to every ``POSITIVE_EXAMPLES``-th persona from ``i``, so each persona
    meets other inputs; where the schema allows fewer distinct requests, the last one goes
    to whoever has not been sent one yet. Schema-violating bodies go to a few personas,
    a different few for each operation.
    """
    label = f"{operation.method.upper()} {operation.path}"
    outcome.operations.add(label)
    names = list(personas)
    sent: set[str] = set()
    generated: list[Case] = []

    def send(case: Case, persona: str, mode: GenerationMode) -> None:
        headers = dict(personas[persona])
        outcome.sent += 1
        try:
            response = case.call(
                base_url=base, session=http, headers=headers, allow_redirects=False, timeout=TIMEOUT
            )
        except requests.RequestException as exc:
            outcome.failures.append(f"{label} as {persona} ({mode.value}): no answer: {exc!r}")
            return
        if (made := _created_path(case, response)) is not None:
            outcome.created.append((persona, made))
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (AssertionError, BaseExceptionGroup) as exc:
            outcome.failures.append(f"{label} as {persona} ({mode.value}): {_summary(exc)}")

    @_settings(POSITIVE_EXAMPLES)
    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def positive(case: Case) -> None:
        index = len(generated)
        generated.append(case)
        for persona in names[index % POSITIVE_EXAMPLES :: POSITIVE_EXAMPLES]:
            sent.add(persona)
            send(case, persona, GenerationMode.POSITIVE)

    positive()
    for persona in names:
        if persona not in sent:
            send(generated[-1], persona, GenerationMode.POSITIVE)
    if not operation.body:
        return
    start = len(outcome.operations) % len(names)
    few = (names * 2)[start : start + NEGATIVE_PERSONAS]

    @_settings(NEGATIVE_EXAMPLES)
    @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    def negative(case: Case) -> None:
        for persona in few:
            send(case, persona, GenerationMode.NEGATIVE)

    # A schema-violating body cannot be made for a body that takes any JSON.
    with contextlib.suppress(Unsatisfiable):
        negative()


def _summary(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:1500]


def exercise_all(
    doc: dict[str, Any],
    base: str,
    personas: Mapping[str, Mapping[str, str]],
    skipped: Mapping[tuple[str, str], str],
) -> Outcome:
    """Every operation of ``doc`` but ``skipped``, as every persona, in one thread."""
    schema = schemathesis.openapi.from_dict(doc)
    outcome = Outcome()
    with requests.Session() as http:
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), f"the document has an operation schemathesis cannot read: {result}"
            operation = result.ok()
            if (operation.method.upper(), operation.path) in skipped:
                continue
            exercise(operation, base, personas, http, outcome)
    return outcome

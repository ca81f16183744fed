"""The fair queue's pure rules: priorities, fair keys and the 429 with its Retry-After."""

from __future__ import annotations

from uuid import uuid4

from hspm.curation.config import Settings
from hspm.curation.validations import queue


def test_submissions_go_first_and_evaluations_last() -> None:
    p = queue.PRIORITY
    assert p["submission"] < p["scheduled"] < p["manual"] == p["dry_run"]


def test_a_persons_run_takes_their_turn_the_systems_the_owners() -> None:
    person, owner = uuid4(), uuid4()
    assert queue.fair_key("manual", person, owner) == person
    assert queue.fair_key("dry_run", person, owner) == person
    assert queue.fair_key("submission", None, owner) == owner
    assert queue.fair_key("scheduled", None, owner) == owner


def test_refusal_names_the_limit_and_carries_retry_after() -> None:
    limits = queue.Limits(max_open_per_requester=2, max_open_per_product=3, retry_after_seconds=30)
    assert queue.refusal(limits, 1, 2) is None
    mine = queue.refusal(limits, 2, 0)
    assert mine is not None and mine.status == 429 and mine.retry_after == 30
    assert "at most 2" in mine.detail and mine.problem()["retry_after"] == 30
    product = queue.refusal(limits, 0, 3)
    assert product is not None and "product" in product.detail and "at most 3" in product.detail


def test_the_settings_defaults_match_the_rules_defaults(monkeypatch) -> None:
    for name in ("IN_FLIGHT", "OPEN_PER_REQUESTER", "OPEN_PER_PRODUCT"):
        monkeypatch.delenv(f"HSPM_VALIDATION_MAX_{name}", raising=False)
    monkeypatch.delenv("HSPM_VALIDATION_RETRY_AFTER_SECONDS", raising=False)
    s = Settings()
    assert queue.Limits() == queue.Limits(
        s.validation_max_in_flight,
        s.validation_max_open_per_requester,
        s.validation_max_open_per_product,
        s.validation_retry_after_seconds,
    )

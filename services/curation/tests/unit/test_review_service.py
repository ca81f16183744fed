"""The reviews service's rules on top of the machine: who may decide what, in which state.

The machine itself is tested in test_machine.py; here the service runs against an
in-memory reviews store, a stand-in for the validations area and a list as the outbox,
so what is checked is the service's use of it: the permission, the 404, the 409 naming
the open decisions, the provenance entry and the one event of each move.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import pytest

from hspm.common.auth import Principal
from hspm.common.errors import Conflict, Forbidden, NotFound, Unauthorized
from hspm.common.events.base import Event
from hspm.common.events.curation import BuildReviewChanged
from hspm.common.events.validator import RuleResult, RuntimeVerdict, ValidationCompleted
from hspm.curation import machine
from hspm.curation.machine import DECISIONS, STATES
from hspm.curation.reviews import service
from hspm.curation.reviews.models import DecisionCreate

CONN: Any = None  # the fakes keep everything in memory; no connection is needed
DIGEST = "sha256:" + "d" * 64


class FakeCases:
    """The reviews store in memory. Rows are handed out as copies, as a database would."""

    def __init__(self) -> None:
        self.cases: dict[UUID, dict[str, Any]] = {}
        self.provenance: list[dict[str, Any]] = []

    def add(self, state: str, owner_id: UUID | None = None, **kw: Any) -> dict[str, Any]:
        case = {
            "id": uuid4(),
            "build_id": uuid4(),
            "product_id": uuid4(),
            "version": "1.0.0",
            "owner_id": owner_id or uuid4(),
            "state": state,
            "attention": False,
            "attention_reason": None,
            "submission": 1,
            "current_run_id": None,
            "image_digest": DIGEST,
            "deleted_at": None,
        } | kw
        self.cases[case["id"]] = case
        return dict(case)

    def state(self, case_id: UUID) -> str:
        return str(self.cases[case_id]["state"])

    def _copy(self, case_id: UUID) -> dict[str, Any] | None:
        case = self.cases.get(case_id)
        return dict(case) if case is not None else None

    async def lock_case(self, conn: Any, case_id: UUID) -> dict[str, Any] | None:
        return self._copy(case_id)

    async def get_case(self, conn: Any, case_id: UUID) -> dict[str, Any] | None:
        return self._copy(case_id)

    async def lock_case_of_build(self, conn: Any, build_id: UUID) -> dict[str, Any] | None:
        found = [c["id"] for c in self.cases.values() if c["build_id"] == build_id]
        return self._copy(found[0]) if found else None

    async def set_state(self, conn: Any, case_id: UUID, state: str, attention: str | None) -> dict[str, Any]:
        self.cases[case_id].update(state=state, attention=attention is not None, attention_reason=attention)
        return dict(self.cases[case_id])

    async def pin_digest(self, conn: Any, case_id: UUID, digest: str | None) -> dict[str, Any]:
        self.cases[case_id].update(image_digest=digest)
        return dict(self.cases[case_id])

    async def set_attention(self, conn: Any, case_id: UUID, attention: str | None) -> None:
        self.cases[case_id].update(attention=attention is not None, attention_reason=attention)

    async def append(self, conn: Any, fields: dict[str, Any]) -> None:
        self.provenance.append(fields)

    async def provenance_of(self, conn: Any, case_id: UUID) -> list[dict[str, Any]]:
        return [e for e in self.provenance if e["case_id"] == case_id]


@dataclass
class FakeRuns:
    """The validations area as the reviews service sees it: outcomes and reports."""

    outcomes: dict[UUID, str] = field(default_factory=dict)
    runs: dict[UUID, dict[str, Any]] = field(default_factory=dict)

    async def latest_outcome(self, conn: Any, build_id: UUID) -> str | None:
        return self.outcomes.get(build_id)

    async def latest_run(self, conn: Any, build_id: UUID) -> dict[str, Any] | None:
        return None

    async def release_waiting(self, conn: Any) -> int:
        return 0

    async def complete(self, conn: Any, report: ValidationCompleted) -> dict[str, Any] | None:
        """The finished run once; None for a report of a run already finished."""
        run = self.runs.get(report.run_id)
        if run is None or run["status"] == "completed":
            return None
        run["status"] = "completed"
        return dict(run)


@dataclass
class Outbox:
    events: list[Event] = field(default_factory=list)

    async def __call__(self, conn: Any, event: Event) -> None:
        self.events.append(event)


@dataclass
class World:
    cases: FakeCases
    runs: FakeRuns
    outbox: Outbox


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    w = World(FakeCases(), FakeRuns(), Outbox())
    monkeypatch.setattr(service, "store", w.cases)
    monkeypatch.setattr(service, "validations", w.runs)
    monkeypatch.setattr(service, "emit", w.outbox)
    return w


def person(*keys: str, name: str = "Olga Operator") -> Principal:
    return Principal(kind="user", user_id=uuid4(), session_id=uuid4(), name=name, permissions=frozenset(keys))


OPERATOR = person("reviews.read", "reviews.update")
REASONS = {"reject": "Too big.", "request_changes": "Add a label.", "withdraw": "End of life."}


def decision(name: str, **kw: Any) -> DecisionCreate:
    return DecisionCreate.model_validate({"decision": name, "reason": REASONS.get(name)} | kw)


# --- who may decide --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "error"),
    [
        (Principal(), Unauthorized),
        (person("reviews.read", name="Auditor"), Forbidden),
        (person("products.create", "validations.create", name="The ISV"), Forbidden),
    ],
)
async def test_only_holders_of_reviews_update_decide(world: World, who: Principal, error: type) -> None:
    case = world.cases.add("awaiting_review", owner_id=who.user_id)
    with pytest.raises(error):
        await service.decide(CONN, who, case["id"], decision("approve"))
    assert world.cases.state(case["id"]) == "awaiting_review"
    assert world.cases.provenance == [] and world.outbox.events == []


async def test_the_permission_is_checked_before_the_case_is_looked_up(world: World) -> None:
    with pytest.raises(Forbidden):
        await service.decide(CONN, person("reviews.read"), uuid4(), decision("approve"))


async def test_a_missing_case_is_404(world: World) -> None:
    with pytest.raises(NotFound):
        await service.decide(CONN, OPERATOR, uuid4(), decision("approve"))


# --- what, in which state ----------------------------------------------------------------------


@pytest.mark.parametrize(("state", "name"), list(itertools.product(STATES, DECISIONS)))
async def test_every_decision_in_every_state(world: World, state: str, name: str) -> None:
    case = world.cases.add(state)
    body = decision(name)
    open_ = machine.allowed_decisions(state)
    if name not in open_:
        with pytest.raises(Conflict) as info:
            await service.decide(CONN, OPERATOR, case["id"], body)
        assert info.value.extra == {"allowed_decisions": list(open_)}
        assert world.cases.state(case["id"]) == state
        assert world.cases.provenance == [] and world.outbox.events == []
        return
    found = await service.decide(CONN, OPERATOR, case["id"], body)
    target = machine.DECISION_TARGETS[name]
    assert world.cases.state(case["id"]) == target == found.case["state"]
    [entry] = world.cases.provenance
    assert (entry["from_state"], entry["to_state"], entry["event"]) == (state, target, machine.LABELS[target])
    assert found.provenance == [entry]
    [event] = world.outbox.events
    assert isinstance(event, BuildReviewChanged)
    assert (event.build_id, event.product_id, event.state) == (case["build_id"], case["product_id"], target)


async def test_the_conflict_names_the_open_decisions(world: World) -> None:
    case = world.cases.add("published")
    with pytest.raises(Conflict) as info:
        await service.decide(CONN, OPERATOR, case["id"], decision("approve"))
    assert "open decisions: deprecate, withdraw" in str(info.value.detail)


async def test_a_decision_in_a_terminal_state_has_none_open(world: World) -> None:
    case = world.cases.add("recalled")
    with pytest.raises(Conflict) as info:
        await service.decide(CONN, OPERATOR, case["id"], decision("withdraw"))
    assert info.value.extra == {"allowed_decisions": []}
    assert "open decisions: none" in str(info.value.detail)


# --- what a decision records -------------------------------------------------------------------


@pytest.mark.parametrize(("outcome", "validated"), [("passed", True), ("failed", False), (None, False)])
async def test_approval_says_whether_the_latest_run_passed(
    world: World, outcome: str | None, validated: bool
) -> None:
    case = world.cases.add("awaiting_review")
    if outcome is not None:
        world.runs.outcomes[case["build_id"]] = outcome
    badge = uuid4()
    await service.decide(CONN, OPERATOR, case["id"], decision("approve", badge_ids=[str(badge)]))
    [event] = world.outbox.events
    assert isinstance(event, BuildReviewChanged)
    assert event.validated is validated and event.badge_ids == [badge] and event.reason is None
    [entry] = world.cases.provenance
    assert entry["badge_ids"] == [badge]


async def test_only_approval_is_validated(world: World) -> None:
    case = world.cases.add("awaiting_review")
    world.runs.outcomes[case["build_id"]] = "passed"
    await service.decide(CONN, OPERATOR, case["id"], decision("reject"))
    [event] = world.outbox.events
    assert isinstance(event, BuildReviewChanged) and event.validated is False


async def test_the_decider_and_the_reason_are_on_record(world: World) -> None:
    case = world.cases.add("awaiting_review")
    await service.decide(CONN, OPERATOR, case["id"], decision("request_changes"))
    [entry] = world.cases.provenance
    assert (entry["actor_kind"], entry["actor_id"], entry["actor_name"]) == (
        "user",
        OPERATOR.user_id,
        "Olga Operator",
    )
    assert entry["remark"] == "Add a label."
    [event] = world.outbox.events
    assert isinstance(event, BuildReviewChanged) and event.reason == "Add a label."


async def test_approval_without_a_pinned_digest_is_409(world: World) -> None:
    """Issue 9: approval publishes the pinned digest, so a build without one is refused."""
    case = world.cases.add("awaiting_review", image_digest=None)
    with pytest.raises(Conflict) as info:
        await service.decide(CONN, OPERATOR, case["id"], decision("approve"))
    assert "no validated image digest" in str(info.value.detail)
    assert world.cases.state(case["id"]) == "awaiting_review"
    assert world.cases.provenance == [] and world.outbox.events == []


async def test_approval_announces_the_pinned_digest(world: World) -> None:
    case = world.cases.add("awaiting_review")
    await service.decide(CONN, OPERATOR, case["id"], decision("approve"))
    [event] = world.outbox.events
    assert isinstance(event, BuildReviewChanged) and event.image_digest == DIGEST


async def test_a_decision_lowers_the_attention_flag(world: World) -> None:
    case = world.cases.add("awaiting_review", attention=True, attention_reason="The run broke.")
    await service.decide(CONN, OPERATOR, case["id"], decision("approve"))
    assert world.cases.cases[case["id"]]["attention"] is False
    assert world.cases.cases[case["id"]]["attention_reason"] is None


# --- who may read a case -----------------------------------------------------------------------


async def test_reviewers_and_the_owner_read_a_case_others_get_404(world: World) -> None:
    owner = person("products.create", name="The ISV")
    case = world.cases.add("awaiting_review", owner_id=owner.user_id)
    for reader in (OPERATOR, person("reviews.read", name="Auditor"), owner):
        assert (await service.get_case(CONN, reader, case["id"])).case["id"] == case["id"]
    for stranger in (person("products.create", name="Another ISV"), Principal()):
        with pytest.raises(NotFound):
            await service.get_case(CONN, stranger, case["id"])


async def test_a_scoped_token_without_reviews_read_does_not_reach_the_owners_case(world: World) -> None:
    owner = Principal(
        kind="user", user_id=uuid4(), name="ISV", permissions=frozenset(), scopes=frozenset({"products.read"})
    )
    case = world.cases.add("awaiting_review", owner_id=owner.user_id)
    with pytest.raises(NotFound):
        await service.get_case(CONN, owner, case["id"])


# --- a report moves the case of its submission run ---------------------------------------------


def report(run_id: UUID, outcome: str, *failed: str) -> ValidationCompleted:
    rules = [
        RuleResult(rule=r, title=r, phase="static", status="fail", required=True, waived=None) for r in failed
    ]
    return ValidationCompleted(
        run_id=run_id,
        build_id=uuid4(),
        product_id=uuid4(),
        outcome=outcome,
        rules=rules,
        runtime=RuntimeVerdict(status="ran"),
        summary=f"Outcome {outcome}.",
        producer="validator",
    )


async def test_a_failed_submission_run_rejects_and_a_repeat_changes_nothing(world: World) -> None:
    run_id = uuid4()
    case = world.cases.add("validating", current_run_id=run_id)
    world.runs.runs[run_id] = {
        "id": run_id,
        "build_id": case["build_id"],
        "trigger": "submission",
        "status": "running",
    }
    failed = report(run_id, "failed", "image.platform")
    await service.report_received(CONN, failed)
    assert world.cases.state(case["id"]) == "auto_rejected"
    [event] = world.outbox.events
    assert isinstance(event, BuildReviewChanged)
    assert event.state == "auto_rejected" and event.reason == "Required rules failed: image.platform."
    await service.report_received(CONN, failed)
    assert len(world.outbox.events) == 1 and len(world.cases.provenance) == 1

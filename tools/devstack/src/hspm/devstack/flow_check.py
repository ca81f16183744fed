"""The main flow's final state, as every service and the agent record it.

``check_flow`` returns what is wrong (an empty list: all is right). Besides each record's
state it counts them: one build, one review case, one validation run, one entitlement,
one instance, one recall notice for the platform. A step repeated after an outage that
made a record twice, or an event handled twice with a visible effect, shows up here.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hspm.devstack.api import GatewayApi
from hspm.devstack.flow import FlowIds
from hspm.devstack.flow_agent import describe
from hspm.devstack.flow_steps import every, ok, send


def _one(problems: list[str], what: str, records: list[dict[str, Any]]) -> dict[str, Any] | None:
    if len(records) != 1:
        problems.append(f"{what}: {len(records)} records, wanted 1: {[r.get('id') for r in records]}")
    return records[0] if records else None


async def check_catalog(api: GatewayApi, f: FlowIds, problems: list[str]) -> None:
    builds = await every(api, f"/products/{f.product_id}/builds", "isv")
    _one(problems, "catalog builds of the product", builds)
    shown = await ok(api, "GET", f.build_path, "isv")
    if shown["status"] != "recalled" or not shown["validated_at"]:
        problems.append(f"catalog build: {shown['status']}, validated_at {shown['validated_at']}")


async def check_curation(api: GatewayApi, f: FlowIds, problems: list[str]) -> None:
    cases = await every(api, f"/reviews?build_id={f.build_id}", "operator")
    case = _one(problems, "curation review cases", cases)
    if case is not None and case["state"] != "recalled":
        problems.append(f"curation review case: {case['state']}")
    trail = await every(api, f"/reviews/{f.review_id}/provenance", "operator")
    moves = Counter((p.get("from_state"), p.get("to_state")) for p in trail)
    doubled = {f"{a}->{b}": n for (a, b), n in moves.items() if n > 1}
    if doubled:
        problems.append(f"curation provenance has moves recorded twice: {doubled}")
    recalls = await every(api, f"/recalls?product_id={f.product_id}", "operator")
    issued = _one(problems, "curation recalls of the product", recalls)
    if issued is not None and issued["build_ids"] != [f.build_id]:
        problems.append(f"curation recall names {issued['build_ids']}")


async def check_validation(api: GatewayApi, f: FlowIds, problems: list[str]) -> None:
    runs = await every(api, f"{f.build_path}/validations", "isv")
    run = _one(problems, "validation runs", runs)
    if run is not None and (run["status"], run["outcome"]) != ("completed", "passed"):
        problems.append(f"validation run: {run['status']} {run['outcome']}: {run.get('summary')}")
    path = f"{f.build_path}/validations/{f.validation_id}"
    status, text = await send(api, "GET", path, "isv", accept="text/plain")
    if status != 200 or "PASSED" not in str(text).upper():
        problems.append(f"validation report: {status} {str(text)[:300]}")


async def check_licensing(api: GatewayApi, f: FlowIds, problems: list[str]) -> None:
    held = await every(api, f"/entitlements?product_id={f.product_id}", "customer")
    entitlement = _one(problems, "licensing entitlements of the product", held)
    if entitlement is not None and entitlement["state"] != "active":
        problems.append(f"licensing entitlement: {entitlement['state']}")
    offers = await every(api, f"/products/{f.product_id}/licenses", "isv")
    _one(problems, "licensing offers of the product", offers)


async def check_notifier(api: GatewayApi, f: FlowIds, problems: list[str]) -> None:
    instances = await every(api, f"/platforms/{f.platform.platform_id}/instances", "customer")
    mine = [i for i in instances if i["build_id"] == f.build_id]
    instance = _one(problems, "notifier instances of the build", mine)
    if instance is not None and (instance["reported_state"] != "stopped" or not instance["deployed_at"]):
        problems.append(
            f"notifier instance: {instance['reported_state']}, deployed {instance['deployed_at']}"
        )
    notices = await every(api, f"/platforms/recalls?recall_id={f.recall_id}", "auditor")
    ours = [n for n in notices if n["platform_id"] == f.platform.platform_id]
    notice = _one(problems, "notifier recall notices for the platform", ours)
    if notice is not None and not notice["acknowledged_at"]:
        problems.append("notifier recall notice: not acknowledged")


def check_agent(f: FlowIds, problems: list[str]) -> None:
    agent = f.platform.agent
    if agent is None:
        problems.append("the platform has no agent")
        return
    state = agent.state()
    applied, acked = state.recalls.get(f.recall_id, (None, None))
    if not applied or not acked:
        problems.append(f"agent state: recall applied {applied}, acknowledged {acked}: {describe(state)}")


async def check_flow(api: GatewayApi, f: FlowIds) -> list[str]:
    """Everything wrong with the flow's final state; empty when every service agrees."""
    problems: list[str] = []
    await check_catalog(api, f, problems)
    await check_curation(api, f, problems)
    await check_validation(api, f, problems)
    await check_licensing(api, f, problems)
    await check_notifier(api, f, problems)
    check_agent(f, problems)
    return problems

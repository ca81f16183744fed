"""After the faults: was anything lost, was anything done twice, is anything dead-lettered.

- Lost: every flow started must have completed, and its final state must hold in every
  service (``check_flow``, which also counts each record: one build, one case, one run,
  one entitlement, one instance, one recall notice per flow).
- Twice: each instance rolled out once by its agent (``rollout.healthy`` in the agent's
  log, kept across its restarts), and each platform's stream holding each recall notice
  and each instance's creation once (an event handled twice would append it twice).
- Dead letters: a message reaches a service's ``.dlq`` only when it cannot be parsed or
  its handler failed on every one of its deliveries. Faults that pass are neither, so
  after a soak every dead-letter queue must be empty.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from hspm.devstack.api import GatewayApi
from hspm.devstack.flow_check import check_flow
from hspm.devstack.soak.infra import PrivateRabbit
from hspm.devstack.soak.lanes import Lane, Tally
from hspm.devstack.stack import StackConfig

# Stream items that exist once per change: a second copy means an event handled twice.
DOUBLED_STREAM_ITEMS = """
SELECT platform_id::text, resource_type, event_type,
       coalesce(model->'recall'->>'id', model->'instance'->>'id') AS id, count(*) AS n
FROM stream_events
WHERE (resource_type, event_type) IN (('product', 'security_notice'), ('instance', 'created'))
GROUP BY 1, 2, 3, 4 HAVING count(*) > 1
"""
COUNTED_STREAM_ITEMS = """
SELECT count(DISTINCT coalesce(model->'recall'->>'id', model->'instance'->>'id')) FROM stream_events
WHERE (resource_type, event_type) IN (('product', 'security_notice'), ('instance', 'created'))
"""


@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    regenerated: int = 0  # instances rolled out again with a new generation


def rollouts(log: Path) -> Counter[tuple[str, str]]:
    """Healthy rollouts per (instance, generation) in an agent's log (JSON lines, all its
    runs). A generation is what shapes the containers (image, tasks, their environment)."""
    counts: Counter[tuple[str, str]] = Counter()
    started: dict[str, str] = {}
    if not log.exists():
        return counts
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut by a kill
        if entry.get("event") == "rollout.started":
            started[entry["instance_id"]] = entry["generation"]
        elif entry.get("event") == "rollout.healthy":
            instance_id = entry["instance_id"]
            counts[(instance_id, started.pop(instance_id, "?"))] += 1
    return counts


async def check_flows(api: GatewayApi, tally: Tally, verdict: Verdict) -> None:
    for flow, reason in tally.failed:
        verdict.problems.append(f"lost flow {flow.tag} after {flow.done[-1:] or 'nothing'}: {reason}")
    for flow in tally.completed:
        for problem in await check_flow(api, flow):
            verdict.problems.append(f"flow {flow.tag} (build {flow.build_id}): {problem}")


def check_rollouts(lanes: list[Lane], verdict: Verdict) -> None:
    """The same generation of an instance rolled out twice is work done twice. A second
    generation (new inputs: a license the agent learnt of later) is counted, not failed."""
    for lane in lanes:
        if lane.platform.agent is None:
            continue
        done = rollouts(lane.platform.agent.log)
        for (instance_id, generation), n in done.items():
            if n > 1:
                verdict.problems.append(
                    f"instance {instance_id} generation {generation} rolled out {n} times"
                )
        generations = Counter(instance_id for instance_id, _ in done)
        verdict.regenerated += sum(1 for n in generations.values() if n > 1)


async def check_stream(config: StackConfig, tally: Tally, verdict: Verdict) -> None:
    conn = await asyncpg.connect(config.database_url("notifier"))
    try:
        for row in await conn.fetch(DOUBLED_STREAM_ITEMS):
            verdict.problems.append(f"stream item held {row['n']} times: {dict(row)}")
        seen = await conn.fetchval(COUNTED_STREAM_ITEMS)
    finally:
        await conn.close()
    # A query that matches nothing would prove nothing: each flow appends one of each.
    if seen < 2 * len(tally.completed):
        verdict.problems.append(
            f"the stream holds {seen} notices and creations for {len(tally.completed)} flows"
        )


def check_dead_letters(rabbit: PrivateRabbit, config: StackConfig, verdict: Verdict) -> None:
    depths = rabbit.queue_depths(f"{config.amqp_namespace}.")
    verdict.dead_letters = {name: n for name, n in sorted(depths.items()) if name.endswith(".dlq")}
    for name, n in verdict.dead_letters.items():
        if n:
            verdict.problems.append(f"{name} holds {n} dead-lettered messages")


async def judge(
    api: GatewayApi, tally: Tally, lanes: list[Lane], rabbit: PrivateRabbit, config: StackConfig
) -> Verdict:
    verdict = Verdict()
    await check_flows(api, tally, verdict)
    check_rollouts(lanes, verdict)
    await check_stream(config, tally, verdict)
    check_dead_letters(rabbit, config, verdict)
    return verdict

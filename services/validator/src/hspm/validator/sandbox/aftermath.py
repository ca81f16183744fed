"""Judging what outlived the container: its log, its cgroup's counters, its upper layer.

Each judgement is pure (the values read in, a status and the evidence out), so the wording
and thresholds of the runtime rules that are decided after the container stopped are tested
without runc; the run steps read the host and record what these return.
"""

from __future__ import annotations

from hspm.common.events.validator import RuleStatus
from hspm.validator.sandbox.cgroups import Usage

Check = tuple[RuleStatus, str]

MIB = 1024 * 1024
MAX_LISTED_WRITES = 20


def judge_logs(head: tuple[int, str]) -> Check:
    """runtime.logs from the log's size and first bytes: silence is only a warning."""
    size, text = head
    if size:
        first = (text.splitlines() or [""])[0][:200]
        return "pass", f"{size} bytes on stdout/stderr; first line: {first}"
    return "warning", "nothing on stdout/stderr during the whole run"


def judge_memory(usage: Usage) -> Check:
    """runtime.memory: reaching the limit fails, whether or not the OOM killer had to act."""
    peak = f"peak {usage.memory_peak / MIB:.1f} MiB of the {usage.memory_limit / MIB:.0f} MiB limit"
    if usage.memory_hit:
        kills = f", {usage.oom_kills} OOM kill(s) seen" if usage.oom_kills else ""
        return "fail", f"hit its memory limit: {peak}{kills}"
    return "pass", peak


def judge_processes(usage: Usage) -> Check:
    """runtime.processes: reaching the pids limit (or having a fork refused) fails."""
    if usage.pids_hit:
        hits = f"peak {usage.pids_peak}, {usage.pids_refused} forks refused"
        return "fail", f"hit the limit of {usage.pids_limit} processes ({hits})"
    return "pass", f"peak {usage.pids_peak} of {usage.pids_limit} processes"


def judge_writes(writes: list[str]) -> Check:
    """runtime.filesystem: any write outside /tmp fails; the first few are listed."""
    if not writes:
        return "pass", "wrote nothing outside /tmp"
    listed = ", ".join(writes[:MAX_LISTED_WRITES])
    more = f" and {len(writes) - MAX_LISTED_WRITES} more" if len(writes) > MAX_LISTED_WRITES else ""
    return "fail", f"wrote outside /tmp: {listed}{more}"

"""The runtime rules judged after the container stopped, from the values the host gave back."""

from __future__ import annotations

from hspm.validator.sandbox import aftermath
from hspm.validator.sandbox.cgroups import Usage

MIB = aftermath.MIB


def _usage(memory_peak: int = 10 * MIB, oom_kills: int = 0, pids_peak: int = 3, refused: int = 0) -> Usage:
    return Usage(64 * MIB, memory_peak, 0, oom_kills, 100, pids_peak, refused)


class TestLogs:
    def test_output_passes_and_quotes_the_first_line(self) -> None:
        assert aftermath.judge_logs((12, "listening\nready\n")) == (
            "pass",
            "12 bytes on stdout/stderr; first line: listening",
        )

    def test_silence_is_a_warning(self) -> None:
        assert aftermath.judge_logs((0, "")) == ("warning", "nothing on stdout/stderr during the whole run")


class TestUsage:
    def test_memory_below_the_limit_passes(self) -> None:
        assert aftermath.judge_memory(_usage()) == ("pass", "peak 10.0 MiB of the 64 MiB limit")

    def test_memory_at_the_limit_fails_with_the_oom_kills(self) -> None:
        status, evidence = aftermath.judge_memory(_usage(memory_peak=64 * MIB, oom_kills=2))
        assert status == "fail"
        assert evidence == "hit its memory limit: peak 64.0 MiB of the 64 MiB limit, 2 OOM kill(s) seen"

    def test_processes_within_the_limit_pass(self) -> None:
        assert aftermath.judge_processes(_usage()) == ("pass", "peak 3 of 100 processes")

    def test_a_refused_fork_fails(self) -> None:
        assert aftermath.judge_processes(_usage(pids_peak=40, refused=5)) == (
            "fail",
            "hit the limit of 100 processes (peak 40, 5 forks refused)",
        )


class TestWrites:
    def test_nothing_written_passes(self) -> None:
        assert aftermath.judge_writes([]) == ("pass", "wrote nothing outside /tmp")

    def test_long_lists_are_cut_with_a_count(self) -> None:
        writes = [f"/var/f{i}" for i in range(aftermath.MAX_LISTED_WRITES + 3)]
        status, evidence = aftermath.judge_writes(writes)
        assert status == "fail"
        assert evidence.startswith("wrote outside /tmp: /var/f0, /var/f1")
        assert evidence.endswith("/var/f19 and 3 more")

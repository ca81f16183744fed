"""Real runc runs of the sample images: each defect is caught by its rule, nothing is left behind.

The samples are pushed to a real ``docker-registry`` (the ``sample_images`` fixture) and
copied into OCI layouts with skopeo, as the static phase hands them over. All sandboxed
scenarios run at once in one module fixture (they mostly wait on timers), and every
scenario checks right after its run that no container, mount, cgroup, mount dir or work
dir is left behind.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import pytest_asyncio

from hspm.common.events.catalog import (
    ConfigurationSnapshot,
    EnvironmentVariable,
    ExposureSnapshot,
    TaskSnapshot,
)
from hspm.common.events.curation import ImageTarget, ValidationPolicy, ValidationRequested
from hspm.common.events.validator import RUNTIME_RULES, RuntimeVerdict
from hspm.devstack import images
from hspm.devstack.oci_fixtures import PushedSamples
from hspm.validator.config import Settings
from hspm.validator.facts import HEALTH_LABEL, ImageFacts, Target
from hspm.validator.report import Findings, Verdict
from hspm.validator.sandbox import bundle, mounts, runner, steps

RUNC_STATE = Path("/run/runc")
# A parent of our own: a validator running on the same host keeps its runs apart.
CGROUP_PARENT = f"hspm-validator-test-{os.getpid()}"
FHIR = ("http://hl7.org/fhir/R4", "FHIR R4")
CDS = ("https://cds-hooks.hl7.org/2.0", "CDS Hooks 1.0")
SMART = ("http://hl7.org/fhir/smart-app-launch", "SMART App Launch")


@dataclass(frozen=True)
class Scenario:
    sample: str
    memory: int | None = None
    ports: tuple[int, ...] = (8080,)
    exposures: tuple[tuple[str, str], ...] = ()
    environment: tuple[EnvironmentVariable, ...] = ()
    policy: dict[str, Any] = field(default_factory=dict)
    soak: float = 1.5
    healthcheck: bool = True  # False: the image's HEALTHCHECK is dropped, so health is probed over HTTP
    labels: dict[str, str] = field(default_factory=dict)
    cancel_after_start: bool = False


SCENARIOS = {
    "good": Scenario("good", memory=64),
    "no-health": Scenario("no-health", policy={"startup_seconds": 3}),
    "ignores-sigterm": Scenario("ignores-sigterm", policy={"stop_grace_seconds": 2}),
    "memory-hog": Scenario("memory-hog", memory=64, soak=2.5),
    "writes-rootfs": Scenario("writes-rootfs"),
    "fork-bomb": Scenario("fork-bomb", policy={"pids_limit": 64}, soak=2.5),
    "fhir-good": Scenario("fhir-good", exposures=(FHIR,)),
    "fhir-broken": Scenario("fhir-broken", exposures=(FHIR,)),
    "cds-good": Scenario("cds-good", exposures=(CDS,)),
    "smart-good": Scenario("smart-good", exposures=(SMART,)),
    "declared-env-and-port": Scenario(
        "fhir-good",
        ports=(8081,),
        exposures=(FHIR,),
        environment=(EnvironmentVariable(key="APP_MODE", default="validation"),),
    ),
    "http-health": Scenario("good", healthcheck=False),
    "http-health-label": Scenario(
        "no-health",
        healthcheck=False,
        labels={HEALTH_LABEL: "/health"},
        policy={"startup_seconds": 2},
    ),
    "cancelled": Scenario("good", soak=30, cancel_after_start=True),
}


@dataclass
class Outcome:
    run_id: UUID
    verdict: RuntimeVerdict | None
    timings: dict[str, float]
    findings: Findings
    leftovers: list[str]
    cancelled: bool = False
    error: str | None = None

    def __getitem__(self, rule: str) -> Verdict:
        return self.findings.verdicts[rule]

    def status(self, rule: str) -> str:
        return self.findings.verdicts[rule].status


# --- building the inputs the static phase would hand over --------------------------------


def _facts(name: str, layout: Path | None, scenario: Scenario | None = None) -> ImageFacts:
    image = images.build(images.samples()[name])
    config = copy.deepcopy(json.loads(image.blobs[0].data))
    if scenario and not scenario.healthcheck:
        config["config"].pop("Healthcheck", None)
    if scenario:
        config["config"]["Labels"] = config["config"].get("Labels", {}) | scenario.labels
    target = Target("127.0.0.1", "http", f"samples/{name}", "1")
    return ImageFacts(target, image.digest, image.media_type, config, [], layout=layout)


def _request(scenario: Scenario, policy: ValidationPolicy | None = None) -> ValidationRequested:
    task = TaskSnapshot(
        task_id=uuid4(),
        name="web",
        memory_maximum=scenario.memory,
        ports=list(scenario.ports),
        environment=list(scenario.environment),
    )
    exposures = [
        ExposureSnapshot(interface_id=uuid4(), interface_uri=u, interface_name=n)
        for u, n in scenario.exposures
    ]
    return ValidationRequested(
        run_id=uuid4(),
        build_id=uuid4(),
        product_id=uuid4(),
        version="1.0.0",
        image=ImageTarget(registry="127.0.0.1", repository=f"samples/{scenario.sample}", tag="1"),
        configurations=[
            ConfigurationSnapshot(configuration_id=uuid4(), name="default", default=True, tasks=[task])
        ],
        exposures=exposures,
        policy=policy or ValidationPolicy(**scenario.policy),
        producer="test",
    )


def _settings(soak: float = 1.5) -> Settings:
    return Settings(soak_seconds=soak, cgroup_parent=CGROUP_PARENT)


async def _copy_layout(samples: PushedSamples, name: str, root: Path) -> Path:
    layout = root / name
    proc = await asyncio.create_subprocess_exec(
        "skopeo", "copy", "-q", "--src-tls-verify=false",
        f"docker://{samples.reference(name)}", f"oci:{layout}:img",
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    return layout


# --- what a run may leave behind ---------------------------------------------------------


def _cgroup_hierarchies() -> list[Path]:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [Path(line.split()[4]) for line in lines if " - cgroup" in line]


def _leftovers(run_id: UUID, workdir: Path) -> list[str]:
    """Everything of this run's that still exists: containers, mounts, cgroups, dirs."""
    prefix = f"hspm-{run_id.hex[:12]}"
    # runc's own state dirs (what `runc list` reads; it fails while others are half-created)
    found = [f"container {p.name}" for p in RUNC_STATE.glob(f"{prefix}*")]
    found += [f"mount {m}" for m in Path("/proc/self/mountinfo").read_text().splitlines() if prefix in m]
    for hierarchy in _cgroup_hierarchies():
        found += [f"cgroup {p}" for p in (hierarchy / CGROUP_PARENT).glob(f"{prefix}*")]
    found += [f"run dir {p}" for p in mounts.RUN_ROOT.glob(f"{prefix}*")]
    found += [f"work dir entry {p}" for p in workdir.iterdir()]
    return found


def _shifted_processes() -> list[str]:
    """Host processes still running as a uid of the sandbox's shifted ranges."""
    low, high = steps.ID_BASE, steps.ID_BASE + steps.ID_SLOTS * steps.ID_SIZE
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uid_line = next(line for line in status.read_text().splitlines() if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if low <= int(uid_line.split()[1]) < high:
            found.append(status.parent.name)
    return found


# --- running the scenarios ---------------------------------------------------------------


async def _run(scenario: Scenario, layout: Path, workdir: Path) -> Outcome:
    """One scenario; a crash becomes the outcome's error so the other runs finish and clean up."""
    request = _request(scenario)
    findings = Findings()
    work = runner.run(
        _facts(scenario.sample, layout, scenario), request, findings, _settings(scenario.soak), workdir
    )
    try:
        if scenario.cancel_after_start:
            return await _run_cancelled(asyncio.ensure_future(work), request.run_id, findings, workdir)
        verdict, timings = await work
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        leftovers = _leftovers(request.run_id, workdir)
        return Outcome(request.run_id, None, {}, findings, leftovers, error=error)
    leftovers = _leftovers(request.run_id, workdir)
    return Outcome(request.run_id, verdict, timings, findings, leftovers)


async def _run_cancelled(
    task: asyncio.Future[tuple[RuntimeVerdict, dict[str, float]]],
    run_id: UUID,
    findings: Findings,
    workdir: Path,
) -> Outcome:
    """Cancel the run once its container is up (what a shutdown does); cleanup must still happen."""
    prefix = f"hspm-{run_id.hex[:12]}"
    while not any(p.name.startswith(prefix) for p in mounts.RUN_ROOT.iterdir()) or not findings.verdicts:
        assert not task.done(), task
        await asyncio.sleep(0.05)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        leftovers = _leftovers(run_id, workdir)
        return Outcome(run_id, None, {}, findings, leftovers, cancelled=True)
    return Outcome(run_id, None, {}, findings, ["the run was not cancelled"])


@pytest.fixture(scope="module")
def cgroup_parent_removed() -> Iterator[None]:
    """After the module: our parent cgroup is empty in every hierarchy; remove it."""
    yield
    for hierarchy in _cgroup_hierarchies():
        parent = hierarchy / CGROUP_PARENT
        if parent.exists():
            children = [p.name for p in parent.iterdir() if p.is_dir()]
            assert children == [], f"{parent} still has {children}"
            parent.rmdir()


@pytest_asyncio.fixture(scope="module")
async def outcomes(
    sandbox_ready: None,
    sample_images: PushedSamples,
    tmp_path_factory: pytest.TempPathFactory,
    cgroup_parent_removed: None,
) -> AsyncIterator[dict[str, Outcome]]:
    """Every scenario, run concurrently against real runc; by scenario name."""
    root = tmp_path_factory.mktemp("sandbox")
    names = sorted({s.sample for s in SCENARIOS.values()})
    layouts = dict(
        zip(names, await asyncio.gather(*(_copy_layout(sample_images, n, root) for n in names)), strict=True)
    )
    workdirs = {name: root / f"work-{name}" for name in SCENARIOS}
    for path in workdirs.values():
        path.mkdir()
    results = await asyncio.gather(*(_run(s, layouts[s.sample], workdirs[n]) for n, s in SCENARIOS.items()))
    yield dict(zip(SCENARIOS, results, strict=True))
    shutil.rmtree(root, ignore_errors=True)


# --- the verdicts ------------------------------------------------------------------------

RUNTIME_ONLY = [r for r in RUNTIME_RULES if r.startswith("runtime.")]


class TestSampleVerdicts:
    def test_good_passes_every_runtime_rule_and_stops_on_sigterm(self, outcomes: dict[str, Outcome]) -> None:
        good = outcomes["good"]
        assert good.verdict == RuntimeVerdict(status="ran")
        assert {r: good.status(r) for r in RUNTIME_ONLY} == dict.fromkeys(RUNTIME_ONLY, "pass"), (
            good.findings.verdicts
        )
        # SIGTERM alone ended it: no SIGKILL was needed.
        stop = good["runtime.stop"].evidence
        assert stop.startswith("exited with code ") and stop.endswith(" after SIGTERM"), stop
        assert set(good.timings) == {"unpack", "start", "healthy", "soak", "smoke", "stop"}
        assert "of the 64 MiB limit" in good["runtime.memory"].evidence
        for rule in ("smoke.http", "smoke.fhir", "smoke.cds_hooks", "smoke.smart"):
            assert good.status(rule) == "skipped" and "not declared" in good[rule].evidence

    def test_no_health_is_not_healthy(self, outcomes: dict[str, Outcome]) -> None:
        run = outcomes["no-health"]
        assert run.status("runtime.healthy") == "fail"
        assert "404" in run["runtime.healthy"].evidence and "within 3 s" in run["runtime.healthy"].evidence
        assert run.status("runtime.starts") == "pass" and run.status("runtime.stop") == "pass"

    def test_ignoring_sigterm_fails_stop(self, outcomes: dict[str, Outcome]) -> None:
        run = outcomes["ignores-sigterm"]
        assert run.status("runtime.stop") == "fail"
        # The grace period ran out with the container alive, and only then came SIGKILL.
        assert run["runtime.stop"].evidence == "still running 2 s after SIGTERM; killed with SIGKILL"
        assert "stop" in run.timings

    def test_memory_hog_fails_memory(self, outcomes: dict[str, Outcome]) -> None:
        run = outcomes["memory-hog"]
        assert run.status("runtime.memory") == "fail"
        assert "hit its memory limit: peak 64.0 MiB of the 64 MiB limit" in run["runtime.memory"].evidence
        assert run.status("runtime.starts") == "pass"  # the OOM killer took dd, not the service

    def test_writes_to_the_image_fail_filesystem(self, outcomes: dict[str, Outcome]) -> None:
        run = outcomes["writes-rootfs"]
        assert run.status("runtime.filesystem") == "fail"
        assert run["runtime.filesystem"].evidence == "wrote outside /tmp: /var/lib/app/state.db"

    def test_fork_bomb_is_bounded(self, outcomes: dict[str, Outcome]) -> None:
        run = outcomes["fork-bomb"]
        assert run.status("runtime.processes") == "fail"
        assert "hit the limit of 64 processes" in run["runtime.processes"].evidence
        assert run.status("runtime.stop") == "pass"
        # It ran to the end within its own budget (a run cut by the budget carries a reason).
        assert run.verdict == RuntimeVerdict(status="ran")
        assert subprocess.run(["true"], check=False).returncode == 0  # the host still forks

    def test_fhir(self, outcomes: dict[str, Outcome]) -> None:
        assert outcomes["fhir-good"].status("smoke.fhir") == "pass"
        assert "fhirVersion 4.0.1 (for FHIR R4)" in outcomes["fhir-good"]["smoke.fhir"].evidence
        broken = outcomes["fhir-broken"]
        assert broken.status("smoke.fhir") == "fail"
        assert "GET /metadata answered 404" in broken["smoke.fhir"].evidence

    def test_cds_hooks(self, outcomes: dict[str, Outcome]) -> None:
        run = outcomes["cds-good"]
        assert run.status("smoke.cds_hooks") == "pass", run["smoke.cds_hooks"]
        assert run.status("smoke.fhir") == "skipped"

    def test_smart(self, outcomes: dict[str, Outcome]) -> None:
        run = outcomes["smart-good"]
        assert run.status("smoke.smart") == "pass", run["smoke.smart"]
        assert run.status("smoke.fhir") == "skipped"  # a SMART URI under hl7.org/fhir is not a FHIR server


class TestSandboxBehaviour:
    def test_declared_environment_and_port_are_injected(self, outcomes: dict[str, Outcome]) -> None:
        run = outcomes["declared-env-and-port"]
        assert "starting on port 8081 (APP_MODE=validation)" in run["runtime.logs"].evidence
        assert run.status("runtime.healthy") == "pass"
        assert run.status("smoke.fhir") == "pass"  # probed on the declared port

    def test_http_health_inside_the_netns(self, outcomes: dict[str, Outcome]) -> None:
        run = outcomes["http-health"]
        assert run.status("runtime.healthy") == "pass"
        assert run["runtime.healthy"].evidence.endswith("GET :8080/health → 200")

    def test_health_path_label_is_the_only_path_tried(self, outcomes: dict[str, Outcome]) -> None:
        run = outcomes["http-health-label"]
        assert run.status("runtime.healthy") == "fail"
        assert run["runtime.healthy"].evidence.endswith("last try: GET :8080/health → 404")

    def test_cancelled_run_cleans_up(self, outcomes: dict[str, Outcome]) -> None:
        run = outcomes["cancelled"]
        assert run.cancelled
        assert run.leftovers == []
        # Cut during its 30 s soak: the run never reached the stop step.
        assert "runtime.stop" not in run.findings.verdicts

    @pytest.mark.parametrize("name", list(SCENARIOS))
    def test_ran_and_left_nothing_behind(self, outcomes: dict[str, Outcome], name: str) -> None:
        assert outcomes[name].error is None
        assert outcomes[name].leftovers == []

    def test_runc_lists_none_of_ours(self, outcomes: dict[str, Outcome]) -> None:
        listed = subprocess.run(
            ["runc", "list", "-q"], capture_output=True, text=True, check=True
        ).stdout.split()
        ours = {f"hspm-{run.run_id.hex[:12]}" for run in outcomes.values()}
        assert [c for c in listed if c[:17] in ours] == []

    def test_no_sandbox_process_survives(self, outcomes: dict[str, Outcome]) -> None:
        assert _shifted_processes() == []

    def test_every_runtime_rule_decided(self, outcomes: dict[str, Outcome]) -> None:
        for name, run in outcomes.items():
            if not run.cancelled:
                assert set(RUNTIME_RULES) <= set(run.findings.verdicts), name

    async def test_read_only_root_when_overlay_is_missing(
        self,
        outcomes: dict[str, Outcome],
        sample_images: PushedSamples,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(steps, "overlay_available", lambda: "overlayfs disabled for this test")
        layout = await _copy_layout(sample_images, "writes-rootfs", tmp_path)
        workdir = tmp_path / "work"
        workdir.mkdir()
        scenario = Scenario("writes-rootfs")
        request, findings = _request(scenario), Findings()
        verdict, _ = await runner.run(
            _facts("writes-rootfs", layout), request, findings, _settings(0.5), workdir
        )
        assert verdict.status == "ran"
        fs = findings.verdicts["runtime.filesystem"]
        assert (fs.status, fs.evidence.split(" (")[0]) == ("warning", "could not observe writes")
        assert findings.verdicts["runtime.starts"].status == "pass"  # the failed write did not kill it
        assert _leftovers(request.run_id, workdir) == []


class TestSkipped:
    """No sandbox needed: these never reach runc, so they run on any machine."""

    async def test_policy_off_skips_every_runtime_rule(self, tmp_path: Path) -> None:
        findings = Findings()
        request = _request(Scenario("good"), ValidationPolicy(runtime=False))
        verdict, timings = await runner.run(
            _facts("good", tmp_path), request, findings, _settings(), tmp_path
        )
        reason = "the operator's policy turns the runtime sandbox off"
        assert verdict == RuntimeVerdict(status="skipped", reason=reason) and timings == {}
        assert {r: (v.status, v.evidence) for r, v in findings.verdicts.items()} == dict.fromkeys(
            RUNTIME_RULES, ("skipped", reason)
        )

    async def test_foreign_architecture_is_skipped(self, tmp_path: Path) -> None:
        findings = Findings()
        facts = _facts("bad-env-arm64", tmp_path)
        verdict, _ = await runner.run(
            facts, _request(Scenario("bad-env-arm64")), findings, _settings(), tmp_path
        )
        assert verdict.status == "skipped"
        assert verdict.reason == f"image architecture 'arm64' cannot run on this {bundle.HOST_ARCH} host"
        assert all(findings.verdicts[r].status == "skipped" for r in RUNTIME_RULES)
        assert list(tmp_path.iterdir()) == []

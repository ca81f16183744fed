"""The sandbox's pure parts: config.json patching, test values, health commands, upper-layer listing."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from hspm.common.events.catalog import EnvironmentVariable, TaskSnapshot
from hspm.common.events.curation import ValidationPolicy
from hspm.validator.config import Settings
from hspm.validator.facts import ImageFacts, Target
from hspm.validator.sandbox import bundle, cgroups, mounts, runner, runstate


def _facts(**container: Any) -> ImageFacts:
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin", "PORT=8080"], **container},
    }
    return ImageFacts(Target("r.example", "https", "a/b", "1"), "sha256:" + "0" * 64, "m", config, [])


def _task(**fields: Any) -> TaskSnapshot:
    return TaskSnapshot(task_id=uuid4(), name="web", **fields)


def _umoci_config() -> dict[str, Any]:
    """The parts of what ``umoci unpack --uid-map`` writes that patching reads."""
    return {
        "process": {
            "terminal": True,
            "user": {"uid": 1000, "gid": 1000},
            "args": ["/bin/start.sh"],
            "env": ["PATH=/bin", "TERM=xterm", "PORT=8080", "HOME=/tmp"],
            "cwd": "/",
            "capabilities": {"ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]},
        },
        "root": {"path": "rootfs"},
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "user")],
            "uidMappings": [{"containerID": 0, "hostID": 1 << 28, "size": 65536}],
        },
    }


def _patched(task: TaskSnapshot | None = None, overlay: bool = True) -> dict[str, Any]:
    layout = cgroups.CgroupLayout(Path("/cg/memory"), Path("/cg/pids"), v2=False)
    sb = runstate.Sandbox("hspm-x", Path("/work/hspm-x"), Path("/run/hspm-validator/hspm-x"), Settings())
    sb.cgroup = cgroups.RunCgroup(layout, "hspm-validator", "hspm-x")
    policy = ValidationPolicy(cpu_cores=0.5, tmpfs_mib=32)
    return bundle.patch_config(_umoci_config(), _facts(), task, policy, sb, ["/bin/app", "serve"], overlay)


class TestPatchConfig:
    def test_process(self) -> None:
        process = _patched()["process"]
        assert process["terminal"] is False
        assert process["args"] == ["/bin/app", "serve"]
        assert process["user"] == {"uid": 1000, "gid": 1000}
        assert process["noNewPrivileges"] is True
        assert "TERM=xterm" not in process["env"]  # umoci's terminal default, not the image's

    def test_capabilities_are_minimal(self) -> None:
        caps = _patched()["process"]["capabilities"]
        assert set(caps) == {"bounding", "effective", "permitted"}  # nothing inheritable or ambient
        assert caps["bounding"] == ["CAP_KILL", "CAP_NET_BIND_SERVICE"]

    def test_root_is_the_overlay(self) -> None:
        config = _patched()
        assert config["root"] == {"path": "/run/hspm-validator/hspm-x/root", "readonly": False}
        assert _patched(overlay=False)["root"]["readonly"] is True

    def test_private_tmp(self) -> None:
        tmp = [m for m in _patched()["mounts"] if m["destination"] == "/tmp"]
        assert tmp == [
            {
                "destination": "/tmp",
                "type": "tmpfs",
                "source": "tmpfs",
                "options": ["nosuid", "nodev", "mode=1777", "size=32m"],
            }
        ]

    def test_limits_and_cgroup(self) -> None:
        linux = _patched()["linux"]
        assert linux["cgroupsPath"] == "/hspm-validator/hspm-x/ctr"
        assert linux["resources"]["cpu"] == {"quota": 50_000, "period": 100_000}
        # memory and pids limits sit on the run's own cgroup, not on runc's leaf
        assert "memory" not in linux["resources"] and "pids" not in linux["resources"]

    def test_namespaces_include_user_and_cgroup(self) -> None:
        kinds = [ns["type"] for ns in _patched()["linux"]["namespaces"]]
        assert sorted(kinds) == ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"]

    def test_confinement(self) -> None:
        linux = _patched()["linux"]
        assert "/proc/kcore" in linux["maskedPaths"] and "/proc/sys" in linux["readonlyPaths"]
        denied = linux["seccomp"]["syscalls"][0]
        assert {"unshare", "mount", "keyctl", "bpf"} <= set(denied["names"])
        assert linux["seccomp"]["defaultAction"] == "SCMP_ACT_ALLOW"


class TestEnvironment:
    def test_declared_variables_get_test_values_and_port(self) -> None:
        task = _task(
            ports=[9000],
            environment=[
                EnvironmentVariable(key="APP_MODE", default="validation"),
                EnvironmentVariable(key="BASE_URL", pattern="https?://.+"),
                EnvironmentVariable(key="SECRET_KEY", required=True),
            ],
        )
        env = bundle.environment(["PATH=/bin", "PORT=8080", "APP_MODE=prod"], task)
        assert env == [
            "PATH=/bin",
            "PORT=9000",
            "APP_MODE=validation",
            "BASE_URL=http://hspm-validation.invalid",
            "SECRET_KEY=hspm-validation",
        ]

    def test_image_env_alone_without_a_task(self) -> None:
        assert bundle.environment(["A=1", "B=x=y"], None) == ["A=1", "B=x=y"]

    def test_unusable_keys_are_left_out(self) -> None:
        task = _task(environment=[EnvironmentVariable(key="A=B"), EnvironmentVariable(key="")])
        assert bundle.environment([], task) == []

    @pytest.mark.parametrize(
        ("pattern", "value"),
        [
            ("[0-9]+", "8080"),
            ("true|false", "true"),
            ("[A-Z_]+", "HSPM_VALIDATION"),
            (r"[^@]+@[^@]+", "validation@hspm.invalid"),
            ("(unclosed", "hspm-validation"),
            ("[a-f0-9]{64}", "hspm-validation"),
        ],
    )
    def test_value_for_a_pattern(self, pattern: str, value: str) -> None:
        assert bundle.test_value(EnvironmentVariable(key="X", pattern=pattern)) == value


class TestHealthcheck:
    def test_shell_form(self) -> None:
        argv = bundle.healthcheck_argv(["CMD-SHELL", "wget -q -O- http://127.0.0.1:8080/health || exit 1"])
        assert argv == ["/bin/sh", "-c", "wget -q -O- http://127.0.0.1:8080/health || exit 1"]

    def test_exec_form(self) -> None:
        assert bundle.healthcheck_argv(["CMD", "/bin/check", "--quick"]) == ["/bin/check", "--quick"]

    def test_none_or_unknown(self) -> None:
        assert bundle.healthcheck_argv(None) is None
        assert bundle.healthcheck_argv(["CMD"]) is None
        assert bundle.healthcheck_argv(["WHATEVER", "x"]) is None


class TestSkipReason:
    def test_policy_off(self) -> None:
        facts = _facts()
        request = _request(ValidationPolicy(runtime=False))
        assert (
            runner.skip_reason(facts, request, Settings())
            == "the operator's policy turns the runtime sandbox off"
        )

    def test_disabled_by_settings(self) -> None:
        reason = runner.skip_reason(_facts(), _request(ValidationPolicy()), Settings(sandbox=False))
        assert reason is not None and "HSPM_SANDBOX=false" in reason

    def test_foreign_architecture(self) -> None:
        facts = _facts()
        facts.config["architecture"] = "arm64" if bundle.HOST_ARCH != "arm64" else "amd64"
        reason = runner.skip_reason(facts, _request(ValidationPolicy()), Settings())
        assert reason is not None and "cannot run on this" in reason

    def test_no_layout(self) -> None:
        facts = _facts()
        facts.config["architecture"] = bundle.HOST_ARCH
        assert (
            runner.skip_reason(facts, _request(ValidationPolicy()), Settings())
            == "no verified image layout to unpack"
        )


def _request(policy: ValidationPolicy) -> Any:
    from hspm.common.events.curation import ImageTarget, ValidationRequested

    return ValidationRequested(
        run_id=uuid4(),
        build_id=uuid4(),
        product_id=uuid4(),
        version="1",
        image=ImageTarget(),
        policy=policy,
        producer="test",
    )


class TestListWrites:
    def test_files_new_dirs_and_mount_points(self, tmp_path: Path) -> None:
        lower, upper = tmp_path / "lower", tmp_path / "upper"
        for d in ("var/lib/app", "etc"):
            (lower / d).mkdir(parents=True)
        for d in ("var/lib/app", "proc", "dev", "data/cache"):
            (upper / d).mkdir(parents=True)
        (upper / "var/lib/app/state.db").write_text("x")
        (upper / "etc/.hidden").parent.mkdir()
        (upper / "etc/.hidden").write_text("x")
        (upper / "link").symlink_to("/etc/passwd")
        writes = mounts.list_writes(upper, lower)
        assert writes == [
            "/data/ (new directory)",
            "/data/cache/ (new directory)",
            "/etc/.hidden",
            "/link",
            "/var/lib/app/state.db",
        ]


class TestUsage:
    def test_memory_limit_reached_counts_as_hit(self) -> None:
        usage = cgroups.Usage(64, 64, 0, 0, 100, 3, 0)
        assert usage.memory_hit and not usage.pids_hit

    def test_pids_peak_at_limit_counts_as_hit(self) -> None:
        assert cgroups.Usage(64, 10, 0, 0, 100, 100, 0).pids_hit
        assert cgroups.Usage(64, 10, 0, 0, 100, 7, 3).pids_hit
        assert not cgroups.Usage(64, 10, 0, 0, 100, 7, 0).memory_hit

"""The run's ``config.json``: umoci's made into the sandbox's, and the values that go into it.

The process (argv, the task's environment with test values, capabilities, rlimits), root,
mounts, cgroup, namespaces, masked paths and seccomp profile are all decided here from the
image's facts, the request and the run's ``Sandbox``, and so is the argv of the image's
HEALTHCHECK; nothing here touches the host. Keeping it pure puts the whole confinement in one
place to read, and lets unit tests check it without runc.
"""

from __future__ import annotations

import errno
import platform
from typing import Any

from hspm.common.events.catalog import EnvironmentVariable, TaskSnapshot
from hspm.common.events.curation import ValidationPolicy, ValidationRequested
from hspm.validator import regex
from hspm.validator.facts import ImageFacts
from hspm.validator.sandbox.runstate import Sandbox

HOST_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
CPU_PERIOD = 100_000
# Candidate values for a declared variable without a default; the first its pattern accepts.
TEST_VALUES = (
    "hspm-validation",
    "http://hspm-validation.invalid",
    "https://hspm-validation.invalid",
    "8080",
    "1",
    "true",
    "HSPM_VALIDATION",
    "validation@hspm.invalid",
    "127.0.0.1",
    "localhost:8080",
    "postgresql://hspm@127.0.0.1:5432/hspm",
)
# runc's own defaults (``runc spec``): keep kernel internals out of the container's /proc and /sys.
MASKED_PATHS = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
# Fewer than umoci's defaults: AUDIT_WRITE is dropped and nothing is inheritable or ambient,
# so a non-root process has no capability at all. Low ports work through the sysctl below.
CAPABILITIES = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
# Defence in depth on top of the capability set: no nested namespaces, mounts, keyrings,
# kernel modules, BPF or perf. clone3 answers ENOSYS so libc falls back to clone, whose
# flags a filter can see.
DENIED_SYSCALLS = [
    "acct", "add_key", "bpf", "delete_module", "finit_module", "fsconfig", "fsmount", "fsopen",
    "fspick", "init_module", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount",
    "move_mount", "name_to_handle_at", "open_by_handle_at", "open_tree", "perf_event_open",
    "pivot_root", "quotactl", "reboot", "request_key", "setns", "swapoff", "swapon", "umount2",
    "unshare", "userfaultfd",
]  # fmt: skip
CLONE_NEWUSER = 0x10000000
SECCOMP_ARCHES = {
    "amd64": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "arm64": ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
}


def patch_config(
    config: dict[str, Any],
    facts: ImageFacts,
    task: TaskSnapshot | None,
    policy: ValidationPolicy,
    sandbox: Sandbox,
    args: list[str],
    overlay: bool,
) -> dict[str, Any]:
    """umoci's config.json made into the sandbox's: process, root, mounts, limits, confinement."""
    assert sandbox.cgroup is not None
    process = config["process"]
    image_env = [e for e in process.get("env", []) if not e.startswith("TERM=") or e in facts.env]
    process.update(
        terminal=False,
        args=args,
        env=environment(image_env, task),
        capabilities={k: list(CAPABILITIES) for k in ("bounding", "effective", "permitted")},
        noNewPrivileges=True,
        oomScoreAdj=1000,
        rlimits=[
            {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024},
            {"type": "RLIMIT_CORE", "hard": 0, "soft": 0},
        ],
    )
    config["root"] = {"path": str(sandbox.root), "readonly": not overlay}
    config["hostname"] = "hspm-sandbox"
    tmp = {
        "destination": "/tmp",  # noqa: S108 (the container's own, a private tmpfs)
        "type": "tmpfs",
        "source": "tmpfs",
        "options": ["nosuid", "nodev", "mode=1777", f"size={policy.tmpfs_mib}m"],
    }
    config["mounts"] = [m for m in config.get("mounts", []) if m.get("destination") != tmp["destination"]]
    config["mounts"].append(tmp)
    linux = config.setdefault("linux", {})
    linux.update(
        cgroupsPath=sandbox.cgroup.runc_path,
        resources={
            "devices": [{"allow": False, "access": "rwm"}],
            "cpu": {"quota": max(1000, int(policy.cpu_cores * CPU_PERIOD)), "period": CPU_PERIOD},
        },
        maskedPaths=list(MASKED_PATHS),
        readonlyPaths=list(READONLY_PATHS),
        # As Docker does: a non-root process may bind ports below 1024 in its own netns.
        sysctl={"net.ipv4.ip_unprivileged_port_start": "0"},
        seccomp=seccomp_profile(),
    )
    kinds = {ns.get("type") for ns in linux.get("namespaces", [])}
    missing = [k for k in ("pid", "network", "ipc", "uts", "mount", "user", "cgroup") if k not in kinds]
    linux["namespaces"] = [ns for ns in linux.get("namespaces", []) if not ns.get("path")]
    linux["namespaces"] += [{"type": k} for k in missing]
    return config


def seccomp_profile() -> dict[str, Any]:
    """Allow by default, refuse the syscalls a web service has no business making."""
    eperm = {"action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM}
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": SECCOMP_ARCHES.get(HOST_ARCH, []),
        "syscalls": [
            {"names": DENIED_SYSCALLS, **eperm},
            {
                "names": ["clone"],
                **eperm,
                "args": [
                    {
                        "index": 0,
                        "value": CLONE_NEWUSER,
                        "valueTwo": CLONE_NEWUSER,
                        "op": "SCMP_CMP_MASKED_EQ",
                    }
                ],
            },
            {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS},
        ],
    }


def default_task(request: ValidationRequested) -> TaskSnapshot | None:
    """The task the sandbox runs: the default configuration's first (else the first's)."""
    configs = request.configurations
    chosen = next((c for c in configs if c.default), configs[0] if configs else None)
    return chosen.tasks[0] if chosen and chosen.tasks else None


def environment(image_env: list[str], task: TaskSnapshot | None) -> list[str]:
    """The image's environment, each declared variable with a test value, PORT if ports are declared."""
    env: dict[str, str] = {}
    for entry in image_env:
        key, _, value = entry.partition("=")
        env[key] = value
    for var in task.environment if task else []:
        if var.key and "=" not in var.key and "\0" not in var.key:
            env[var.key] = test_value(var)
    if task and task.ports:
        env["PORT"] = str(task.ports[0])
    return [f"{k}={v}" for k, v in env.items()]


def test_value(var: EnvironmentVariable) -> str:
    """The declared default, else a stock value the pattern accepts, else ``hspm-validation``.

    The user's pattern runs under RE2 (linear, never backtracking); one RE2 cannot compile
    fails the static ``env.names`` rule, and the sandbox falls back to the first value.
    """
    if var.default is not None:
        return var.default
    if var.pattern:
        try:
            pattern = regex.compile(var.pattern)
        except regex.PatternError:
            return TEST_VALUES[0]
        return next((v for v in TEST_VALUES if pattern.fullmatch(v)), TEST_VALUES[0])
    return TEST_VALUES[0]


def healthcheck_argv(test: list[str] | None) -> list[str] | None:
    """A Docker HEALTHCHECK test as argv: ``CMD-SHELL x`` → ``/bin/sh -c x``, ``CMD a b`` → ``a b``."""
    if not test:
        return None
    if test[0] == "CMD-SHELL" and len(test) >= 2:
        return ["/bin/sh", "-c", " ".join(test[1:])]
    if test[0] == "CMD" and len(test) >= 2:
        return test[1:]
    return None

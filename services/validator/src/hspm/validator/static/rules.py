"""The static rules as pure judgements: each takes what was read and returns (status, evidence).

None of them does I/O or records anything: the inspection feeds them the resolved image, the
layer scans and the declared configuration, and records what they return. That keeps each
rule's wording and thresholds in one place, testable with plain values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath

from hspm.common.events.catalog import ConfigurationSnapshot, EnvironmentVariable, TaskSnapshot
from hspm.common.events.curation import ValidationPolicy
from hspm.common.events.validator import RuleStatus
from hspm.validator import regex
from hspm.validator.facts import HEALTH_LABEL
from hspm.validator.static.layers import LayerScan
from hspm.validator.static.manifests import AMD64, Resolved

Check = tuple[RuleStatus, str]

ENV_NAME = regex.compile(r"[A-Z0-9_]+")


# --- rules on the image ---------------------------------------------------------------------


def judge_single(resolved: Resolved) -> Check:
    if resolved.index_digest is None:
        return "pass", f"one image manifest ({resolved.media_type})"
    offered = ", ".join(resolved.platforms)
    if AMD64 not in resolved.platforms:
        return (
            "fail",
            f"an index of {offered} with no linux/amd64 image; {resolved.platform} was judged instead",
        )
    return "pass", f"an index ({offered}); its linux/amd64 image {resolved.digest} is the build's image"


def judge_platform(resolved: Resolved) -> Check:
    judged = resolved.platform
    offered = f" (the index offers {', '.join(resolved.platforms)})" if resolved.index_digest else ""
    if judged == AMD64 or judged.startswith(AMD64 + "/"):
        return "pass", f"{judged}{offered}"
    if resolved.index_digest and AMD64 in resolved.platforms:
        return "fail", f"the index's linux/amd64 entry is a {judged} image{offered}"
    return "fail", f"the image is {judged}, not linux/amd64{offered}"


def judge_declared_size(resolved: Resolved, policy: ValidationPolicy) -> Check:
    """The limits as far as the manifest tells (when the layers could not be pulled)."""
    n, total = len(resolved.layers), sum(int(la["size"]) for la in resolved.layers)
    if n > policy.max_layers or total > policy.max_image_bytes:
        return (
            "fail",
            f"{n} layers, {_human(total)} compressed declared; limits {policy.max_layers}, "
            + _human(policy.max_image_bytes),
        )
    return "pass", f"{n} layers (limit {policy.max_layers}), {_human(total)} compressed as declared"


def judge_size(resolved: Resolved, policy: ValidationPolicy, scans: list[LayerScan]) -> Check:
    n, total = len(resolved.layers), sum(int(la["size"]) for la in resolved.layers)
    unpacked = sum(s.uncompressed_bytes for s in scans)
    return "pass", (
        f"{n} layers (limit {policy.max_layers}), {_human(total)} compressed (limit "
        f"{_human(policy.max_image_bytes)}), {_human(unpacked)} uncompressed; "
        f"config {_human(len(resolved.config_raw))}"
    )


def judge_layers(resolved: Resolved, scans: list[LayerScan]) -> Check:
    """A layer that was not read to the end fails: what was not scanned is never unpacked."""
    findings = []
    for i, (layer, scan) in enumerate(zip(resolved.layers, scans, strict=True), 1):
        where = f"layer {i} ({layer['digest'][:19]})"
        if scan.problems:
            more = scan.problem_count - len(scan.problems)
            findings.append(f"{where}: " + "; ".join(scan.problems) + (f"; and {more} more" if more else ""))
        if scan.error:
            findings.append(f"{where}: {scan.error}")
    if findings:
        return "fail", " | ".join(findings)
    entries = sum(s.members for s in scans)
    zstd = sum(1 for s in scans if s.compression == "zstd")
    note = f"; {zstd} zstd layer(s) unpacked from the tar that was scanned" if zstd else ""
    return (
        "pass",
        f"{len(scans)} layers, {entries} entries: no path escapes, device files or links out of the root"
        + note,
    )


# --- rules on the environment ---------------------------------------------------------------


def _tasks(configs: Iterable[ConfigurationSnapshot]) -> Iterator[tuple[str, TaskSnapshot]]:
    for config in configs:
        for task in config.tasks:
            yield f"configuration {config.name!r} task {task.name!r}", task


def _env_pairs(env: Iterable[str]) -> Iterator[tuple[str, str]]:
    for entry in env:
        name, _, value = entry.partition("=")
        yield name, value


def judge_env_names(image_env: list[str] | None, configs: list[ConfigurationSnapshot]) -> Check:
    offenders, count = [], 0
    if image_env is not None:
        names = [name for name, _ in _env_pairs(image_env)]
        count += len(names)
        if bad := [repr(n) for n in names if not ENV_NAME.fullmatch(n)]:
            offenders.append("image Env: " + ", ".join(bad))
    patterns = []
    for where, task in _tasks(configs):
        count += len(task.environment)
        if bad := [repr(v.key) for v in task.environment if not ENV_NAME.fullmatch(v.key)]:
            offenders.append(f"{where}: " + ", ".join(bad))
        patterns += [f"{where}: {why}" for v in task.environment if (why := pattern_problem(v))]
    if offenders or patterns:
        parts = ["not ^[A-Z0-9_]+$: " + "; ".join(offenders)] if offenders else []
        return "fail", " | ".join(parts + patterns)
    scope = (
        "the image's Env and the declared configuration"
        if image_env is not None
        else "the declared configuration"
    )
    return "pass", f"all {count} names in {scope} are ^[A-Z0-9_]+$"


def pattern_problem(var: EnvironmentVariable) -> str | None:
    """Why a declared variable's ``pattern`` cannot be used (RE2 syntax is what is accepted)."""
    if not var.pattern:
        return None
    try:
        regex.compile(var.pattern)
    except regex.PatternError as exc:
        return f"the pattern of {var.key!r} cannot be used: {exc}"
    return None


# The detectors run over untrusted text (an image's Env, labels, declared defaults): all are
# RE2, linear in the text, so a megabyte value costs milliseconds, never minutes.
# Names that hold secrets. PASSWORD is never part of an innocent word; the others must be
# whole words of the name (TOKEN, not TOKENIZER).
_SECRET_NAME = regex.compile(
    r"PASSW(?:OR)?D|(?:^|_)(?:SECRET|TOKEN|PWD|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?)(?:_|$)"
)
# Where a secret is (a file, a URL to ask) is not itself a secret.
_POINTER_SUFFIX = regex.compile(r"_(?:FILE|PATH|DIR|URL|URI|ENDPOINT|HOST|PORT)$")
# Numbers and switches (TOKEN_TTL=3600, PASSWORD_RESET=false) hold no secret.
_INERT_VALUE = regex.compile(r"\d{1,6}|(?i:true|false|yes|no|on|off|none|null)")
_NOT_NAME_CHARS = regex.compile(r"[^A-Z0-9]+")
_VALUE_PATTERNS = (
    (regex.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"), "a PEM private key"),
    (regex.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key id"),
    (regex.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "a GitHub token"),
    (regex.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@", ignore_case=True), "a URL with a password"),
)
# Longer values are not read: the image config itself is bounded by the policy's
# max_config_bytes (4 MiB by default), and nothing longer is a plausible setting.
MAX_VALUE = 4 * 1024 * 1024


def secret_reason(name: str, value: str) -> str | None:
    """Why ``name=value`` looks like a baked-in secret; the reason never quotes the value."""
    if len(value) > MAX_VALUE or len(name) > MAX_VALUE:
        return f"a value over {MAX_VALUE // (1024 * 1024)} MiB, too long to judge"
    for pattern, what in _VALUE_PATTERNS:
        if pattern.search(value):
            return what
    key = _NOT_NAME_CHARS.sub("_", name.upper())
    value = value.strip()
    if (
        value
        and _SECRET_NAME.search(key)
        and not _POINTER_SUFFIX.search(key)
        and not _INERT_VALUE.fullmatch(value)
    ):
        return "a secret-like name with a value"
    return None


def judge_env_secrets(
    image_env: list[str] | None, labels: dict[str, str], configs: list[ConfigurationSnapshot]
) -> Check:
    hits = []
    for name, value in _env_pairs(image_env or []):
        if why := secret_reason(name, value):
            hits.append(f"image Env {name} ({why})")
    for name, value in labels.items():
        if why := secret_reason(name, value):
            hits.append(f"label {name} ({why})")
    for where, task in _tasks(configs):
        for var in task.environment:
            if var.default and (why := secret_reason(var.key, var.default)):
                hits.append(f"{where} default of {var.key} ({why})")
    if hits:
        return "fail", "; ".join(hits)
    scope = (
        "environment values, labels and declared defaults" if image_env is not None else "declared defaults"
    )
    return "pass", f"no secret-like values in {scope}"


# --- rules on the declarations --------------------------------------------------------------


def judge_memory(configs: list[ConfigurationSnapshot], max_mib: int) -> Check:
    tasks = list(_tasks(configs))
    if not tasks:
        return "fail", "no task is declared, so no memory maximum is"
    problems = []
    for where, task in tasks:
        top, bottom = task.memory_maximum, task.memory_minimum
        if top is None:
            problems.append(f"{where}: no memory_maximum")
        elif top < 1:
            problems.append(f"{where}: memory_maximum {top} MiB is below 1")
        elif top > max_mib:
            problems.append(f"{where}: memory_maximum {top} MiB exceeds the limit of {max_mib} MiB")
        elif bottom is not None and bottom > top:
            problems.append(f"{where}: memory_minimum {bottom} MiB is above memory_maximum {top} MiB")
    if problems:
        return "fail", "; ".join(problems)
    sizes = sorted(t.memory_maximum or 0 for _, t in tasks)
    return "pass", f"{len(tasks)} tasks declare {sizes[0]}-{sizes[-1]} MiB (limit {max_mib} MiB)"


def judge_configuration(configs: list[ConfigurationSnapshot]) -> Check:
    if not configs:
        return "fail", "no configuration is declared"
    defaults = [c for c in configs if c.default]
    if len(defaults) != 1:
        names = ", ".join(repr(c.name) for c in defaults) or "none"
        return "fail", f"{len(defaults)} default configurations ({names}); exactly one is needed"
    default = defaults[0]
    problems = [] if default.tasks else [f"the default configuration {default.name!r} has no task"]
    for where, task in _tasks(configs):
        # A maximum of 0 is "unlimited", as the packaging schema and the catalog read it.
        if task.instances_maximum and task.instances_minimum > task.instances_maximum:
            problems.append(
                f"{where}: instances_minimum {task.instances_minimum} "
                f"> instances_maximum {task.instances_maximum}"
            )
    if problems:
        return "fail", "; ".join(problems)
    return "pass", f"default configuration {default.name!r} with {len(default.tasks)} task(s)"


def judge_ports(exposed: set[int], configs: list[ConfigurationSnapshot]) -> Check:
    declared: dict[int, list[str]] = {}
    for where, task in _tasks(configs):
        for port in task.ports:
            declared.setdefault(port, []).append(where)
    shown = ", ".join(str(p) for p in sorted(exposed)) or "none"
    missing = [
        f"{where} declares {port}"
        for port, wheres in sorted(declared.items())
        if port not in exposed
        for where in wheres
    ]
    if missing:
        return "fail", "; ".join(missing) + f"; the image exposes {shown}"
    extra = sorted(exposed - declared.keys())
    if extra:
        return "warning", f"the image exposes {', '.join(map(str, extra))}, which no task declares"
    if not exposed:
        return "pass", "no ports declared or exposed"
    return "pass", f"declared and exposed: {shown}"


# --- rules on the image config ---------------------------------------------------------------


def judge_user(user: str) -> Check:
    user = user.strip()
    if not user:
        return "fail", "no USER: the process runs as root (uid 0)"
    if user.partition(":")[0] in ("0", "root"):
        return "fail", f"USER {user!r} is root"
    return "pass", f"USER {user!r}"


def judge_labels(labels: dict[str, str], required: list[str]) -> Check:
    if not required:
        return "pass", "the operator requires no labels"
    missing = [key for key in required if not labels.get(key, "").strip()]
    if missing:
        return "fail", "missing or empty: " + ", ".join(missing)
    return "pass", "present: " + ", ".join(required)


def judge_health(healthcheck: list[str] | None, labels: dict[str, str]) -> Check:
    if healthcheck:
        return "pass", "HEALTHCHECK " + _short(json.dumps(healthcheck))
    path = labels.get(HEALTH_LABEL, "").strip()
    if path.startswith("/"):
        return "pass", f"label {HEALTH_LABEL}={_short(path)}"
    if path:
        return "warning", f"label {HEALTH_LABEL} is {_short(path)!r}, not an HTTP path starting with '/'"
    return "warning", f"no HEALTHCHECK and no {HEALTH_LABEL} label"


SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh"})
SUPERVISORS = frozenset(
    {"supervisord", "s6-svscan", "runsvdir", "honcho", "foreman", "pm2", "pm2-runtime", "circusd"}
)


def _backgrounds(script: str) -> bool:
    """Whether a lone '&' sends a process to the background ('&&', '>&', '&>', '|&' do not).

    A single pass over the script (RE2 has no lookaround, and none is needed).
    """
    i = script.find("&")
    while i >= 0:
        before, after = script[i - 1 : i] if i else "", script[i + 1 : i + 2]
        if before not in ("&", ">", "|", "<") and after not in ("&", ">"):
            return True
        i = script.find("&", i + 1)
    return False


def _shell_script(argv: list[str]) -> str | None:
    """The script of ``sh -c SCRIPT`` (also ``-ec`` and the like), if argv is one."""
    if PurePosixPath(argv[0]).name not in SHELLS:
        return None
    for i, arg in enumerate(argv[1:-1], 1):
        if arg.startswith("-") and "c" in arg:
            return argv[i + 1]
    return None


def judge_entrypoint(entrypoint: list[str], cmd: list[str]) -> Check:
    argv = entrypoint + cmd
    if not argv or not argv[0].strip():
        return "fail", "no ENTRYPOINT or CMD: the image does not say what to run"
    shown = _short(json.dumps(argv))
    if PurePosixPath(argv[0]).name in SUPERVISORS:
        return "warning", f"{shown}: a process supervisor runs several processes in one task"
    script = _shell_script(argv)
    if script is not None and _backgrounds(script):
        return (
            "warning",
            f"{shown}: the shell starts a process in the background ('&'); run one process per task",
        )
    return "pass", shown


# --- helpers ---------------------------------------------------------------------------------


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _human(n: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"

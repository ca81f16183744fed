"""The image config a Dockerfile produces, worked out without building it.

A real build needs the base image, which tests cannot pull. What the validator's static
rules read, though, is the image config (user, environment, ports, entrypoint,
healthcheck, labels), and a Dockerfile states all of it: this module applies the
instructions that set config the way the Docker builder does (build arguments, stage
inheritance, variable substitution, ENTRYPOINT resetting an inherited CMD) over the base
image's published config. RUN, COPY and the like change files only and are skipped.
Anything it does not model (single quotes, ONBUILD, SHELL, unknown instructions) raises,
so a Dockerfile edit can never be misread silently.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Instructions that change only the filesystem or the build itself, not the config.
FILE_ONLY = frozenset({"RUN", "COPY", "ADD"})
_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::?-([^}]*))?\}|(\w+))")
_DURATION = re.compile(r"(\d+)(ms|s|m|h)")
_NANOS = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_HEALTH_OPTIONS = {
    "interval": "Interval",
    "timeout": "Timeout",
    "start-period": "StartPeriod",
    "start-interval": "StartInterval",
}


class Unsupported(ValueError):
    """The Dockerfile uses something this model does not apply."""


@dataclass
class Stage:
    """One stage's config while its instructions are applied."""

    config: dict[str, Any]
    args: dict[str, str] = field(default_factory=dict)
    cmd_set: bool = False  # a CMD of this stage survives its ENTRYPOINT; an inherited one does not

    def env(self) -> dict[str, str]:
        pairs = (entry.partition("=") for entry in self.config.get("Env") or [])
        return {name: value for name, _, value in pairs}

    def scope(self) -> dict[str, str]:
        """What ``$VAR`` means here: the stage's ARGs, overridden by its ENV (as in Docker)."""
        return self.args | self.env()


def instructions(text: str) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: continuation lines joined, comments dropped."""
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or (not stripped and logical):
            continue  # comments (and blank lines) may sit inside a continued instruction
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        if logical.strip():
            keyword, _, rest = logical.strip().partition(" ")
            yield keyword.upper(), rest.strip()
        logical = ""


def substitute(text: str, scope: Mapping[str, str]) -> str:
    """``$VAR``, ``${VAR}`` and ``${VAR:-default}`` replaced from ``scope``."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        default = match.group(2)
        found = scope.get(name)
        return found if found else (default or "")

    return _VARIABLE.sub(value, text)


def _words(args: str, scope: Mapping[str, str]) -> list[str]:
    if "'" in args:
        raise Unsupported(f"single quotes are not modelled: {args}")
    return [substitute(word, scope) for word in shlex.split(args, posix=True)]


def _pairs(args: str, scope: Mapping[str, str]) -> dict[str, str]:
    """``KEY=VALUE ...`` (or the legacy ``KEY VALUE``), every value substituted from the
    scope as it was before the instruction, as Docker does."""
    words = _words(args, scope)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    pairs = (word.partition("=") for word in words)
    return {name: value for name, _, value in pairs}


def _exec_or_shell(args: str) -> list[str]:
    """The JSON (exec) form as given, else the shell form run by ``/bin/sh -c``."""
    if args.startswith("["):
        parsed = json.loads(args)
        assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed), args
        return parsed
    return ["/bin/sh", "-c", args]


def _nanoseconds(duration: str) -> int:
    parts = _DURATION.findall(duration)
    if "".join(n + u for n, u in parts) != duration:
        raise Unsupported(f"duration {duration!r}")
    return sum(int(n) * _NANOS[u] for n, u in parts)


def _healthcheck(args: str) -> dict[str, Any]:
    """Docker's ``Healthcheck`` config: options as nanoseconds, ``Test`` with CMD or CMD-SHELL."""
    check: dict[str, Any] = {}
    while args.startswith("--"):
        option, _, args = args.partition(" ")
        name, _, value = option[2:].partition("=")
        if name == "retries":
            check["Retries"] = int(value)
        elif name in _HEALTH_OPTIONS:
            check[_HEALTH_OPTIONS[name]] = _nanoseconds(value)
        else:
            raise Unsupported(f"HEALTHCHECK option --{name}")
        args = args.lstrip()
    kind, _, command = args.partition(" ")
    if kind.upper() == "NONE":
        return {"Test": ["NONE"]}
    if kind.upper() != "CMD":
        raise Unsupported(f"HEALTHCHECK {kind}")
    command = command.strip()
    check["Test"] = ["CMD", *json.loads(command)] if command.startswith("[") else ["CMD-SHELL", command]
    return check


class Builder:
    """Applies a Dockerfile's config instructions, stage by stage, up to a target stage."""

    def __init__(self, base_configs: Mapping[str, dict[str, Any]], build_args: Mapping[str, str]) -> None:
        self.base_configs = base_configs
        self.build_args = dict(build_args)
        self.global_args: dict[str, str] = {}
        self.stages: dict[str, dict[str, Any]] = {}

    def image_config(self, text: str, target: str) -> dict[str, Any]:
        """The ``config`` section of the target stage's image (a Docker image config)."""
        stage: Stage | None = None
        for keyword, args in instructions(text):
            if keyword == "FROM":
                stage = self._from(args)
            elif stage is None:
                self._global(keyword, args)
            else:
                self._apply(stage, keyword, args)
        if target not in self.stages:
            raise Unsupported(f"no stage {target!r}")
        return self.stages[target]

    def _global(self, keyword: str, args: str) -> None:
        """Before the first FROM only ARG is allowed; its value is what FROM lines see."""
        if keyword != "ARG":
            raise Unsupported(f"{keyword} before the first FROM")
        name, _, default = args.partition("=")
        self.global_args[name] = self.build_args.get(name, default)

    def _from(self, args: str) -> Stage:
        words = args.split()
        image = substitute(words[0], self.global_args)
        name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
        if image in self.stages:
            base = self.stages[image]
        elif image in self.base_configs:
            base = self.base_configs[image]
        else:
            raise Unsupported(f"no config recorded for base image {image!r}")
        config = copy.deepcopy(base)
        self.stages[name or f"#{len(self.stages)}"] = config
        return Stage(config)

    def _apply(self, stage: Stage, keyword: str, args: str) -> None:
        if keyword in FILE_ONLY:
            return
        if keyword == "ARG":
            name, eq, default = args.partition("=")
            # A stage sees a global ARG only by declaring it again; a build arg wins over both.
            fallback = default if eq else self.global_args.get(name, "")
            stage.args[name] = self.build_args.get(name, substitute(fallback, stage.scope()))
            return
        apply = _SETTERS.get(keyword)
        if apply is None:
            raise Unsupported(f"{keyword} is not modelled")
        apply(stage, args)


# --- the instructions that set the config -----------------------------------------------------


def _env(stage: Stage, args: str) -> None:
    env = stage.env() | _pairs(args, stage.scope())
    stage.config["Env"] = [f"{k}={v}" for k, v in env.items()]


def _label(stage: Stage, args: str) -> None:
    stage.config["Labels"] = (stage.config.get("Labels") or {}) | _pairs(args, stage.scope())


def _expose(stage: Stage, args: str) -> None:
    ports: dict[str, dict[str, Any]] = {
        (p if "/" in p else f"{p}/tcp"): {} for p in _words(args, stage.scope())
    }
    stage.config["ExposedPorts"] = (stage.config.get("ExposedPorts") or {}) | ports


def _volume(stage: Stage, args: str) -> None:
    paths = json.loads(args) if args.startswith("[") else _words(args, stage.scope())
    stage.config["Volumes"] = (stage.config.get("Volumes") or {}) | dict.fromkeys(paths, {})


def _entrypoint(stage: Stage, args: str) -> None:
    stage.config["Entrypoint"] = _exec_or_shell(args)
    # Docker: an ENTRYPOINT resets the CMD inherited from the base, not one of this stage.
    if not stage.cmd_set:
        stage.config["Cmd"] = None


def _cmd(stage: Stage, args: str) -> None:
    stage.config["Cmd"] = _exec_or_shell(args)
    stage.cmd_set = True


def _plain(key: str) -> Callable[[Stage, str], None]:
    """An instruction that sets one config field to its substituted argument."""

    def apply(stage: Stage, args: str) -> None:
        stage.config[key] = substitute(args, stage.scope())

    return apply


def _health(stage: Stage, args: str) -> None:
    stage.config["Healthcheck"] = _healthcheck(args)


_SETTERS: dict[str, Callable[[Stage, str], None]] = {
    "ENV": _env,
    "LABEL": _label,
    "EXPOSE": _expose,
    "VOLUME": _volume,
    "ENTRYPOINT": _entrypoint,
    "CMD": _cmd,
    "HEALTHCHECK": _health,
    "USER": _plain("User"),
    "WORKDIR": _plain("WorkingDir"),
    "STOPSIGNAL": _plain("StopSignal"),
}


def image_config(
    dockerfile: Path,
    target: str,
    build_args: Mapping[str, str],
    base_configs: Mapping[str, dict[str, Any]],
) -> dict[str, Any]:
    """The config of ``dockerfile``'s ``target`` stage built with ``build_args``."""
    return Builder(base_configs, build_args).image_config(dockerfile.read_text(), target)

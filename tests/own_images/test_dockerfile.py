"""The Dockerfile model applies the builder's rules that decide an image's config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.own_images.dockerfile import Unsupported, image_config

BASE = {"base:1": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["python3"], "Labels": {"from": "base"}}}


def _config(tmp_path: Path, text: str, target: str = "final", **args: str) -> dict[str, Any]:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(text)
    return image_config(dockerfile, target, args, BASE)


def test_build_args_reach_a_stage_only_through_its_own_arg(tmp_path: Path) -> None:
    text = """ARG IMAGE=base:1
ARG NAME=default
ARG PORT=80
FROM ${IMAGE} AS final
ARG NAME
ENV SERVICE=${NAME} \\
    PORT=${PORT}
EXPOSE ${NAME:-9}
"""
    config = _config(tmp_path, text, NAME="8081")
    assert config["Env"] == ["PATH=/usr/bin:/bin", "SERVICE=8081", "PORT="]
    assert config["ExposedPorts"] == {"8081/tcp": {}}


def test_env_substitutes_what_was_set_before_the_instruction(tmp_path: Path) -> None:
    text = """FROM base:1 AS final
# a comment between instructions
ENV PATH="/app/bin:${PATH}" A=1 B=${A}
ENV C=${A}
"""
    assert _config(tmp_path, text)["Env"] == ["PATH=/app/bin:/usr/bin:/bin", "A=1", "B=", "C=1"]


def test_a_stage_inherits_the_stage_it_is_built_from(tmp_path: Path) -> None:
    text = """FROM base:1 AS service
USER 10001:10001
LABEL title="one"
FROM service AS final
USER 0
LABEL extra=two
"""
    config = _config(tmp_path, text)
    assert config["User"] == "0"
    assert config["Labels"] == {"from": "base", "title": "one", "extra": "two"}
    assert _config(tmp_path, text, target="service")["User"] == "10001:10001"


def test_entrypoint_resets_the_inherited_cmd_but_not_its_own_stages(tmp_path: Path) -> None:
    assert _config(tmp_path, 'FROM base:1 AS final\nENTRYPOINT ["/app"]\n')["Cmd"] is None
    config = _config(tmp_path, 'FROM base:1 AS final\nCMD ["-v"]\nENTRYPOINT ["/app"]\n')
    assert (config["Entrypoint"], config["Cmd"]) == (["/app"], ["-v"])
    assert _config(tmp_path, "FROM base:1 AS final\nENTRYPOINT exec /app\n")["Entrypoint"] == [
        "/bin/sh",
        "-c",
        "exec /app",
    ]


def test_healthcheck_options_are_nanoseconds(tmp_path: Path) -> None:
    text = """FROM base:1 AS final
HEALTHCHECK --interval=1m30s --retries=2 \\
    CMD wget -q http://127.0.0.1/healthz
"""
    assert _config(tmp_path, text)["Healthcheck"] == {
        "Interval": 90_000_000_000,
        "Retries": 2,
        "Test": ["CMD-SHELL", "wget -q http://127.0.0.1/healthz"],
    }


@pytest.mark.parametrize(
    "text",
    [
        "FROM elsewhere:2 AS final\n",
        'FROM base:1 AS final\nSHELL ["/bin/bash", "-c"]\n',
        "FROM base:1 AS final\nENV A='$B'\n",
        "FROM base:1 AS final\nHEALTHCHECK --unknown=1 CMD true\n",
    ],
)
def test_what_it_does_not_model_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(Unsupported):
        _config(tmp_path, text)

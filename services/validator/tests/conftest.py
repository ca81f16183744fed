"""Validator test fixtures."""

from __future__ import annotations

import pytest

from hspm.common.testing import unavailable
from hspm.validator.config import Settings
from hspm.validator.sandbox import runner


@pytest.fixture(scope="session")
def sandbox_ready() -> None:
    """Skip a test that needs the runc sandbox where it cannot run, with the probe's reason.

    In CI (``CI=true``) the machine is meant to sandbox, so a failed probe fails the test.
    """
    reason = runner.probe(Settings())
    if reason is not None:
        unavailable(f"the sandbox cannot run here: {reason}")

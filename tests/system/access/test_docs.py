"""The document of who may do what says what the table (and so the tests) say."""

from __future__ import annotations

from .docs import DOC, render


def test_the_access_control_document_matches_the_table() -> None:
    assert DOC.read_text() == render(), "regenerate: uv run --frozen python -m tests.system.access.docs"

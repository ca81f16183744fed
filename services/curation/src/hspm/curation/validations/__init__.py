"""Validation runs: requested on submission, by hand or on a schedule; reports from the validator."""

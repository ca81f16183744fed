"""Auditors' usage reports: attempts, grants, denials, claimants and suspected sharing, as JSON and CSV."""

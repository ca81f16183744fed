"""Instances: a published build on a platform, its desired state and what the agent reports."""

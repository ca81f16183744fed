"""A bounded soak of the whole marketplace under faults (``make soak``); see docs/soak.md."""

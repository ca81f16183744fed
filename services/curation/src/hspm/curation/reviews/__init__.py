"""Review cases: one per build, moved by the state machine, with append-only provenance."""

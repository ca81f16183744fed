"""The operator's validation policy as data, and per-product rule exceptions."""

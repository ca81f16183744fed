"""The Marketplace's reference web UI: server-rendered pages over the public API."""

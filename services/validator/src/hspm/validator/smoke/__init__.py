"""Smoke tests: each interface a build declares is exercised once against the running container."""

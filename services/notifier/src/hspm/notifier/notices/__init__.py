"""Notices to platforms: build publication, entitlements, recalls (and their acknowledgements)."""

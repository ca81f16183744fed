"""The curation service."""

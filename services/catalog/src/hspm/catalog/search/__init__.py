"""Catalog: search."""

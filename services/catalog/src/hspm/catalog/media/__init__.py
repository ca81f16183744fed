"""Catalog: media."""

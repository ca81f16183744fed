"""Catalog: interfaces."""

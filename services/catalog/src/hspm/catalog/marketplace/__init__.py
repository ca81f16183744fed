"""Catalog: marketplace."""

"""Catalog: builds."""

"""Licenses: usage terms independent of any product (indefinite, relative, absolute; a usage limit)."""

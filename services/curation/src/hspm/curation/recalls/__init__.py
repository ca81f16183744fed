"""Recalls: a critical update that takes affected builds off offer and tells platforms."""

"""Offline licenses: signed license documents for an entitlement, and the public keys they verify with."""

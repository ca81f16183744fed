"""Entitlements and their claims: who holds a product license, and who uses it."""

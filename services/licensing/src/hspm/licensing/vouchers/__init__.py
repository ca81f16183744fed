"""Vouchers: human-readable single-use codes for one product license, and their redemption."""

"""Platforms: a user's declared runtime environments (spec 5.1), names unique per user."""

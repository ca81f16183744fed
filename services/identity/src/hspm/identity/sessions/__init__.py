"""Signing in and out: the OpenID Connect login, logout, the gateway's session lookup, and
the root documents (``/status`` with who is calling, the JWKS)."""

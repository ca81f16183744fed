"""Forwarding: which service owns a path, and relaying requests and WebSockets to it."""

"""Tokens: the revocable record behind every token the Marketplace issues, and API tokens.

A login session and an API token are both rows of the ``sessions`` table (the spec's
JsonWebToken); this area owns those rows. Logging in is the ``sessions`` area's business.
"""

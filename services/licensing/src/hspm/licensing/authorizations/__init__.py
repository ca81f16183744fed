"""The runtime license check (PUT /authorizations/...) and the attempts it records."""

"""Agent credentials: the Ed25519 public keys a platform's agents prove possession of."""

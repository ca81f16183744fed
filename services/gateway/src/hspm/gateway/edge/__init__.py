"""The edge: what every request meets before routing (CORS, rate limits, tokens, the client's address)."""

"""The HSP Marketplace client library for agents, products and the CLI; no server code."""

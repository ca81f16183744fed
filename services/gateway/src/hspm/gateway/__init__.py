"""HSP Marketplace gateway service."""

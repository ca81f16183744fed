"""HSP Marketplace catalog service."""

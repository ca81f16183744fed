"""HSP Marketplace identity service."""

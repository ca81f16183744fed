"""Read copies from other services: products, the family graph, users and group memberships."""

"""Read copies from other services: products and their family, builds, licence offers and entitlements."""

"""The notifier service: platforms, instances, agent credentials and the ordered push stream to agents."""

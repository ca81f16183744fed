"""The agents' WebSocket: authentication, subscription, replay by sequence, acks, reports."""

"""Roles and their appointments to users and groups: what every permission check unions."""

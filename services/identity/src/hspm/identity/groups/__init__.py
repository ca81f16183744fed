"""Groups of users: a role appointed to a group reaches every member."""

"""Users and their identities: the accounts at identity providers they log in with."""

"""Identity providers: the OpenID Connect issuers users log in through."""

"""The UI's pages, one module per audience; each handler fetches, renders or redirects."""

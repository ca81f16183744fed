"""The gateway's own pages: the merged OpenAPI document, Swagger UI and the API-only notice."""

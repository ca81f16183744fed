"""Product licenses: which licenses a product is offered under (/products/{id}/licenses)."""

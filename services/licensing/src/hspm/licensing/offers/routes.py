"""The offers area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import Api, Crud
from hspm.licensing.offers import handlers as h
from hspm.licensing.offers import models as m


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    api.resource(router, OFFERS)


OFFERS = Crud(
    collection="/products/{product_id}/licenses",
    item="/products/{product_id}/licenses/{product_license_id}",
    tag="Product licenses",
    noun="product license",
    plural="product licenses",
    index=h.list_offers,
    create=h.create_offer,
    show=h.get_offer,
    update=h.update_offer,
    delete=h.delete_offer,
    create_model=m.OfferCreate,
    update_model=m.OfferUpdate,
    # DELETE answers 200 with the offer, as the reference server does.
    delete_status=200,
    permissions={
        "create": "product_licenses.create",
        "update": "product_licenses.update",
        "delete": "product_licenses.delete",
    },
    summaries={
        "index": "The licenses a product is offered under (public)",
        "show": "Show a product license (public)",
        "create": "Offer a product under a license (owner or product_licenses.create)",
        "update": "Update a product license's external_id (owner or product_licenses.update)",
        "delete": "Withdraw a product license (owner if nobody holds it; staff always)",
    },
)

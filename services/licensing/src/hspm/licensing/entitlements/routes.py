"""The entitlements area's URL map: entitlements and their claims."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api, Crud
from hspm.licensing.entitlements import handlers as h
from hspm.licensing.entitlements import models as m

E = "/entitlements/{entitlement_id}"

ENTITLEMENTS = Crud(
    collection="/entitlements",
    item=E,
    tag="Entitlements",
    noun="entitlement",
    plural="entitlements",
    index=h.list_entitlements,
    create=h.create_entitlement,
    show=h.get_entitlement,
    update=h.update_entitlement,
    delete=h.revoke_entitlement,
    create_model=m.EntitlementCreate,
    update_model=m.EntitlementUpdate,
    query=(*PAGED, "user_id", "product_id", "product_license_id", "license_id", "state"),
    permissions={
        "index": "entitlements.read",
        "create": "entitlements.create",
        "update": "entitlements.update",
        "delete": "entitlements.delete",
    },
    summaries={
        "index": "List entitlements (held, of own products, or all with entitlements.read)",
        "create": "Grant an entitlement (staff, or the product's ISV after its checkout)",
        "update": "Update an entitlement (staff; the holder may hand it over once)",
        "delete": "Revoke an entitlement (staff, or the product's ISV); it is kept as revoked",
    },
)
CLAIMS = Crud(
    collection=f"{E}/claims",
    item=f"{E}/claims/{{claim_id}}",
    tag="Entitlement claims",
    noun="claim",
    plural="claims",
    index=h.list_claims,
    create=h.create_claim,
    show=h.get_claim,
    delete=h.delete_claim,
    create_model=m.ClaimCreate,
    query=PAGED,
    permissions={"create": "claims.create", "delete": "claims.delete"},
    summaries={
        "create": "Claim an entitlement for a user or group (its holder, or staff)",
        "delete": "Remove a claim (its entitlement's holder, or staff)",
    },
)


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    api.resource(router, ENTITLEMENTS)
    api.resource(router, CLAIMS)

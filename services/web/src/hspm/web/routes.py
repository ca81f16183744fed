"""The UI's URL map under ``/ui``: public pages first, then each audience's.

GET pages only read; every change is a POST form that redirects (POST-redirect-GET), so
each page works with scripts off. The ``.../row`` and ``.../validation`` fragments are
what htmx polls to keep a state live.
"""

from __future__ import annotations

from aiohttp import web

from hspm.web.pages import admin, auth, catalog, customer, operator, reports, vendor
from hspm.web.render import STATIC


def setup_routes(app: web.Application, ui: str) -> None:
    r = app.router
    r.add_static(ui + "/static", STATIC, append_version=False)
    _public(r, ui)
    _vendor(r, ui + "/vendor")
    _operator(r, ui)
    _customer(r, ui)
    r.add_get(ui + "/reports", reports.usage)
    r.add_get(ui + "/reports/usage.csv", reports.usage_csv)


def _public(r: web.UrlDispatcher, ui: str) -> None:
    r.add_get(ui, catalog.home)
    r.add_get(ui + "/", catalog.home)
    r.add_get(ui + "/products/{product_id}", catalog.product)
    r.add_get(ui + "/products/{product_id}/builds/{build_id}", catalog.build)
    r.add_get(ui + "/products/{product_id}/builds/{build_id}/validation", catalog.validation_fragment)
    r.add_get(ui + "/login", auth.login)
    r.add_get(ui + "/login/done", auth.landing)
    r.add_post(ui + "/login/done", auth.finish)
    r.add_post(ui + "/logout", auth.logout)
    r.add_get(ui + "/device", auth.device)
    r.add_post(ui + "/device", auth.device_decide)


def _vendor(r: web.UrlDispatcher, v: str) -> None:
    p = v + "/products/{product_id}"
    r.add_get(v, vendor.home)
    r.add_get(v + "/products/new", vendor.new_product)
    r.add_post(v + "/products", vendor.create_product)
    r.add_get(p, vendor.manage)
    r.add_post(p, vendor.update_product)
    r.add_get(p + "/edit", vendor.edit_product)
    r.add_post(p + "/images", vendor.upload_image)
    r.add_post(p + "/builds", vendor.create_build)
    r.add_post(p + "/builds/import", vendor.import_build)
    r.add_post(p + "/builds/{build_id}/submit", vendor.submit_build)


def _operator(r: web.UrlDispatcher, ui: str) -> None:
    o = ui + "/operator"
    r.add_get(o, operator.queue)
    r.add_get(o + "/reviews/{case_id}", operator.case)
    r.add_post(o + "/reviews/{case_id}/decisions", operator.decide)
    r.add_get(o + "/products/{product_id}", operator.publication)
    r.add_post(o + "/products/{product_id}/publication", operator.publish)
    r.add_post(o + "/products/{product_id}/badges", operator.badge)
    r.add_get(o + "/recalls", operator.recalls)
    r.add_post(o + "/recalls", operator.create_recall)
    r.add_post(ui + "/admin/identity_providers/{idp_id}/switch", admin.provider_switch)
    r.add_post(ui + "/admin/appointments", admin.appoint)
    r.add_get(ui + "/admin/{directory}", admin.directory)
    r.add_post(ui + "/admin/{directory}", admin.create)


def _customer(r: web.UrlDispatcher, ui: str) -> None:
    p = ui + "/platforms/{platform_id}"
    r.add_get(ui + "/platforms", customer.platforms)
    r.add_post(ui + "/platforms", customer.create_platform)
    r.add_get(ui + "/platforms/deploy", customer.deploy_form)
    r.add_get(p, customer.platform)
    r.add_post(p + "/keys", customer.add_key)
    r.add_post(p + "/keys/{key_id}/revoke", customer.revoke_key)
    r.add_post(ui + "/deploy", customer.deploy)
    r.add_get(ui + "/instances/{instance_id}", customer.instance)
    r.add_get(ui + "/instances/{instance_id}/row", customer.instance_fragment)
    r.add_get(ui + "/entitlements", customer.entitlements)
    r.add_post(ui + "/entitlements/redeem", customer.redeem)

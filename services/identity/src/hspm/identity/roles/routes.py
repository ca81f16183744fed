"""The roles area's URL map: roles and their appointments."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api, Crud
from hspm.identity.roles import handlers as h
from hspm.identity.roles import models as m

R = "/roles/{role_id}"
A = f"{R}/appointments"
TAG = "Roles"

# Each resource's routes as one table row; appointments are read and changed with their role.
ROLES = Crud(
    collection="/roles",
    item=R,
    tag=TAG,
    noun="role",
    plural="roles",
    index=h.list_roles,
    create=h.create_role,
    show=h.get_role,
    update=h.update_role,
    delete=h.delete_role,
    create_model=m.RoleCreate,
    update_model=m.RoleUpdate,
    delete_status=200,
    query=(*PAGED, "default", "name"),
    permissions={
        "index": "roles.read",
        "create": "roles.create",
        "show": "roles.read",
        "update": "roles.update",
        "delete": "roles.delete",
    },
)
APPOINTMENTS = Crud(
    collection=A,
    item=f"{A}/{{appointment_id}}",
    tag=TAG,
    noun="appointment",
    plural="appointments",
    index=h.list_appointments,
    create=h.create_appointment,
    show=h.get_appointment,
    update=h.update_appointment,
    delete=h.delete_appointment,
    create_model=m.AppointmentCreate,
    update_model=m.AppointmentUpdate,
    permissions={
        "index": "roles.read",
        "create": "roles.update",
        "show": "roles.read",
        "update": "roles.update",
        "delete": "roles.update",
    },
    summaries={
        "index": "List a role's appointments",
        "create": "Appoint a user or group",
        "update": "Move an appointment to another user or group",
        "delete": "Dismiss an appointment",
    },
)


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    api.resource(router, ROLES)
    api.resource(router, APPOINTMENTS)

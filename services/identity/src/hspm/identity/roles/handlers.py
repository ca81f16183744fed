"""HTTP handlers of roles and appointments: parse, call one service function, render
(``hspm.common.endpoints``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from hspm.common.endpoints import Endpoints
from hspm.common.web import query_bool
from hspm.identity.roles import models, service, views

ROLES = Endpoints.of(views.role)
ROLE = Endpoints.of(views.role, "role_id")
APPOINTMENTS = Endpoints.of(views.appointment, "role_id")
APPOINTMENT = Endpoints.of(views.appointment, "role_id", "appointment_id")


def _role_filters(request: web.Request) -> Sequence[Any]:
    return query_bool(request, "default"), request.query.get("name")


list_roles = ROLES.index(service.list_roles, ("name", "default", "created_at"), "name", _role_filters)
create_role = ROLES.create(service.create_role, models.RoleCreate, "role")
get_role = ROLE.show(service.get_role)
update_role = ROLE.update(service.update_role, models.RoleUpdate, "role")
delete_role = ROLE.show(service.delete_role)

list_appointments = APPOINTMENTS.index(service.list_appointments, ("created_at",), "created_at")
create_appointment = APPOINTMENTS.create(service.appoint, models.AppointmentCreate, "appointment")
get_appointment = APPOINTMENT.show(service.get_appointment)
update_appointment = APPOINTMENT.update(service.update_appointment, models.AppointmentUpdate, "appointment")
delete_appointment = APPOINTMENT.delete(service.dismiss)

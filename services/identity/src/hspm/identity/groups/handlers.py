"""HTTP handlers of groups and memberships: parse, call one service function, render
(``hspm.common.endpoints``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

from hspm.common.endpoints import Endpoints
from hspm.common.web import query_uuid
from hspm.identity.groups import models, service, views

GROUPS = Endpoints.of(views.group)
GROUP = Endpoints.of(views.group, "group_id")
MEMBERS = Endpoints.of(views.member, "group_id")
MEMBER = Endpoints.of(views.member, "group_id", "member_id")


def _group_filters(request: web.Request) -> Sequence[Any]:
    return request.query.get("name"), query_uuid(request, "role")


list_groups = GROUPS.index(service.list_groups, ("name", "description", "created_at"), "name", _group_filters)
create_group = GROUPS.create(service.create_group, models.GroupCreate, "group")
get_group = GROUP.show(service.get_group)
update_group = GROUP.update(service.update_group, models.GroupUpdate, "group")
delete_group = GROUP.delete(service.delete_group)

list_members = MEMBERS.index(service.list_members, ("created_at",), "created_at")
add_member = MEMBERS.create(service.add_member, models.MemberCreate, "member")
get_member = MEMBER.show(service.get_member)
update_member = MEMBER.update(service.update_member, models.MemberUpdate, "member")
remove_member = MEMBER.delete(service.remove_member)

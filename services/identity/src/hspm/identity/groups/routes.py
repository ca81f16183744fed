"""The groups area's URL map: groups and their members."""

from __future__ import annotations

from aiohttp import web

from hspm.common.web import PAGED, Api, Crud
from hspm.identity.groups import handlers as h
from hspm.identity.groups import models as m

G = "/groups/{group_id}"
M = f"{G}/members"
TAG = "Groups"

# Each resource's routes as one table row; members are read and changed with their group.
GROUPS = Crud(
    collection="/groups",
    item=G,
    tag=TAG,
    noun="group",
    plural="groups",
    index=h.list_groups,
    create=h.create_group,
    show=h.get_group,
    update=h.update_group,
    delete=h.delete_group,
    create_model=m.GroupCreate,
    update_model=m.GroupUpdate,
    query=(*PAGED, "name", "role"),
    permissions={
        "index": "groups.read",
        "create": "groups.create",
        "show": "groups.read",
        "update": "groups.update",
        "delete": "groups.delete",
    },
)
MEMBERS = Crud(
    collection=M,
    item=f"{M}/{{member_id}}",
    tag=TAG,
    noun="member",
    plural="members",
    index=h.list_members,
    create=h.add_member,
    show=h.get_member,
    update=h.update_member,
    delete=h.remove_member,
    create_model=m.MemberCreate,
    update_model=m.MemberUpdate,
    permissions={
        "index": "groups.read",
        "create": "groups.update",
        "show": "groups.read",
        "update": "groups.update",
        "delete": "groups.update",
    },
    summaries={
        "index": "List a group's members",
        "create": "Add a member",
        "show": "Show a membership",
        "update": "Move a membership to another user",
        "delete": "Remove a member",
    },
)


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes; each is also an OpenAPI operation."""
    api.resource(router, GROUPS)
    api.resource(router, MEMBERS)

"""The builds area's URL map."""

from __future__ import annotations

from aiohttp import web

from hspm.catalog.builds import handlers as h
from hspm.catalog.builds import models as m
from hspm.common.models import Input
from hspm.common.web import Api

B = "/products/{product_id}/builds"
BB = B + "/{build_id}"
C = BB + "/configurations"
T = C + "/{configuration_id}/tasks"
E = BB + "/exposures"
P = E + "/{exposure_id}/parameters"
D = BB + "/dependencies"
PAGED = ["page", "per_page", "sort", "order"]
TAG = "Builds"


def add_routes(api: Api, router: web.UrlDispatcher) -> None:
    """Register this area's routes (one line each)."""
    add = api.route
    add(
        router,
        "GET",
        B,
        h.list_builds,
        "List a product's builds",
        tag=TAG,
        query=[*PAGED, "version", "status"],
    )
    add(
        router,
        "POST",
        B,
        h.create_build,
        "Create a draft build",
        tag=TAG,
        request=m.BuildCreate,
        status=201,
        permission="builds.create",
    )
    add(router, "GET", BB, h.get_build, "Show a build", tag=TAG)
    add(
        router,
        "PUT",
        BB,
        h.update_build,
        "Update a draft build",
        tag=TAG,
        request=m.BuildUpdate,
        permission="builds.update",
    )
    add(
        router,
        "PATCH",
        BB,
        h.update_build,
        "Update a draft build",
        tag=TAG,
        request=m.BuildUpdate,
        permission="builds.update",
    )
    add(router, "DELETE", BB, h.delete_build, "Delete a build", tag=TAG, permission="builds.delete")
    add(
        router,
        "POST",
        BB + "/submit",
        h.submit_build,
        "Submit a build to curation",
        tag=TAG,
        permission="builds.update",
    )
    add(
        router,
        "PUT",
        BB + "/asset",
        h.put_asset,
        "Upload the build's asset (raw body)",
        tag=TAG,
        permission="builds.update",
        query=["name"],
    )
    add(router, "GET", BB + "/asset", h.get_asset, "Download the build's asset", tag=TAG)
    add(
        router,
        "DELETE",
        BB + "/asset",
        h.delete_asset,
        "Remove the build's asset",
        tag=TAG,
        status=204,
        permission="builds.update",
    )
    _crud(
        api,
        router,
        C,
        "configuration_id",
        h.CONFIGURATIONS,
        m.ConfigurationCreate,
        m.ConfigurationUpdate,
        "configuration",
    )
    _crud(api, router, T, "task_id", h.TASKS, m.TaskCreate, m.TaskUpdate, "task")
    _crud(api, router, E, "exposure_id", h.EXPOSURES, m.ExposureCreate, m.ExposureUpdate, "exposure")
    _crud(api, router, P, "parameter_id", h.PARAMETERS, m.ParameterCreate, m.ParameterUpdate, "parameter")
    _crud(
        api, router, D, "dependency_id", h.DEPENDENCIES, m.DependencyCreate, m.DependencyUpdate, "dependency"
    )


def _crud(
    api: Api,
    router: web.UrlDispatcher,
    path: str,
    id_name: str,
    hs: dict[str, h.Handler],
    create: type[Input],
    update: type[Input],
    noun: str,
) -> None:
    """The five routes of a packaging kind; writes need ownership or ``builds.update``."""
    one = f"{path}/{{{id_name}}}"
    add = api.route
    add(router, "GET", path, hs["index"], f"List a build's {noun} records", tag=TAG, query=PAGED)
    add(
        router,
        "POST",
        path,
        hs["create"],
        f"Create a {noun}",
        tag=TAG,
        request=create,
        status=201,
        permission="builds.update",
    )
    add(router, "GET", one, hs["show"], f"Show a {noun}", tag=TAG)
    add(
        router,
        "PUT",
        one,
        hs["update"],
        f"Update a {noun}",
        tag=TAG,
        request=update,
        permission="builds.update",
    )
    add(
        router,
        "PATCH",
        one,
        hs["update"],
        f"Update a {noun}",
        tag=TAG,
        request=update,
        permission="builds.update",
    )
    add(
        router,
        "DELETE",
        one,
        hs["destroy"],
        f"Delete a {noun}",
        tag=TAG,
        status=204,
        permission="builds.update",
    )

"""aiohttp helpers every service is built from."""

from hspm.common.paging import PageParams, page_envelope
from hspm.common.web.app import ServiceState, create_base_app, json_response, request_id_key, state_key
from hspm.common.web.body import read_model
from hspm.common.web.openapi import PAGED, Api, Crud
from hspm.common.web.params import created, path_id, query_bool, query_list, query_uuid
from hspm.common.web.principal import principal_of

__all__ = [
    "PAGED",
    "Api",
    "Crud",
    "PageParams",
    "ServiceState",
    "create_base_app",
    "created",
    "json_response",
    "page_envelope",
    "path_id",
    "principal_of",
    "query_bool",
    "query_list",
    "query_uuid",
    "read_model",
    "request_id_key",
    "state_key",
]

"""Projects: the organization's project list, a project's detail, client keys and environments."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...dataset import Record
from ..errors import ApiError
from ..pagination import offset_paginate, paged, parse_cursor, per_page, value_paginate_desc
from ..plumbing import Request, Response, json_body
from ..records import public

if TYPE_CHECKING:
    from ..emulator import SentryEmulator


def org_projects(emulator: SentryEmulator, request: Request, org: Record, **_: Any) -> Response:
    """OffsetPaginator ordered by (-is_bookmarked, slug). A user sees every active project of the
    organization, member or not (src/sentry/core/endpoints/organization_projects.py
    OrganizationProjectsEndpoint.get), each with its isMember/hasAccess/access for the user
    (serializers/models/project.py get_access_by_project): a project the user cannot access is
    listed with hasAccess false, and its own endpoints answer 403."""
    limit = per_page(request, emulator.default_page_size)
    cursor = parse_cursor(request.get("cursor"))
    access = emulator.access()
    rows = sorted(emulator.dataset.projects, key=lambda p: (not p.get("isBookmarked", False), str(p.get("slug"))))
    if access.is_org_token:  # a non-user caller: projects of some team of the organization
        rows = [p for p in rows if p.get("teams") or p.get("team")]
    page, prev_c, next_c = offset_paginate(rows, limit, cursor)
    return paged(request, [access.served_project(p) for p in page], prev_c, next_c)


def project_detail(emulator: SentryEmulator, request: Request, org: Record, project: Record, **_: Any) -> Response:
    detail = emulator.dataset.project_details.get(str(project.get("slug")), project)
    return Response(200, json_body(public(emulator.access().served_project(detail))))


def project_keys(emulator: SentryEmulator, request: Request, org: Record, project: Record, **_: Any) -> Response:
    """Paginator(order_by="-id", default_per_page=10) over the keys' internal numeric ids."""
    limit = per_page(request, emulator.default_page_size, default=min(10, emulator.default_page_size))
    cursor = parse_cursor(request.get("cursor"))
    keys = list(emulator.dataset.project_keys.get(str(project.get("slug")), []))
    status = request.get("status")
    if status == "active":
        keys = [k for k in keys if k.get("isActive", True)]
    elif status == "inactive":
        keys = [k for k in keys if not k.get("isActive", True)]
    elif status:
        keys = []
    keyed = []
    for position, key in enumerate(keys, start=1):
        internal = key.get("_id")
        if internal is None:
            internal = int(key["id"]) if str(key.get("id", "")).isdigit() else position
        keyed.append((int(internal), key))
    keyed.sort(key=lambda kv: kv[0], reverse=True)
    page, prev_c, next_c = value_paginate_desc(keyed, limit, cursor)
    return paged(request, page, prev_c, next_c)


def project_environments(emulator: SentryEmulator, request: Request, org: Record, project: Record, **_: Any) -> Response:
    """Not paginated (no Link header), ordered by name; ``visibility`` visible (default)/hidden/all."""
    visibility = request.get("visibility", "visible")
    if visibility not in ("all", "hidden", "visible"):
        raise ApiError(
            400, "Invalid value for 'visibility', valid values are: ['all', 'hidden', 'visible']"
        )
    envs = list(emulator.dataset.environments.get(str(project.get("slug")), []))
    if visibility == "visible":
        envs = [e for e in envs if not e.get("isHidden", False)]
    elif visibility == "hidden":
        envs = [e for e in envs if e.get("isHidden", False)]
    envs.sort(key=lambda e: str(e.get("name", e.get("id"))))
    return Response(200, json_body(public(envs)))

"""Releases and a release's deploys."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...dataset import Record
from ...dataset.releases import listed_deploys
from ..errors import DETAIL_NOT_FOUND, ApiError, InvalidParams
from ..pagination import offset_paginate, paged, parse_cursor, per_page
from ..access import project_ids
from ..params import date_range
from ..plumbing import Request, Response, json_body
from ..records import id_key, record_time

if TYPE_CHECKING:
    from ..emulator import SentryEmulator

DETAIL_RELEASE_STATUS = "invalid value for status"  # releases/endpoints/organization_releases.py


def org_releases(emulator: SentryEmulator, request: Request, org: Record, **_: Any) -> Response:
    """src/sentry/releases/endpoints/organization_releases.py OrganizationReleasesEndpoint.get:
    OffsetPaginator, newest dateCreated first; ``status`` absent/open, archived, or '' (all: Sentry
    filters only ``if status_filter:``); start/end bound dateCreated, both inclusive
    (add_date_filter_to_queryset); the releases of the projects get_projects selects (its
    get_projects override passes include_all_accessible=False: without ``project`` only the user's
    team projects, ``project=-1`` every accessible one; an org token sees every project).
    Sentry before 21.6.0 orders and date-filters by COALESCE(dateReleased, dateCreated) and has no
    status filter (versions.py releases_by_coalesced_date)."""
    limit = per_page(request, emulator.default_page_size)
    cursor = parse_cursor(request.get("cursor"))
    sort = request.get("sort") or "date"
    if sort != "date":
        raise ApiError(400, "invalid sort")
    old_order = emulator.behaviour.releases_by_coalesced_date
    status_filter = "" if old_order else request.get("status", "open")
    if status_filter and status_filter not in ("open", "archived"):
        raise ApiError(400, DETAIL_RELEASE_STATUS)
    try:
        start, end = date_range(request, emulator.now(), optional=True)
    except InvalidParams as err:
        raise ApiError(400, f"Invalid date range: {err}") from None
    access = emulator.access()
    projects = access.selected_projects(request, force_global=access.is_org_token)
    if not projects:  # get_filter_params raises NoProjects: `return Response([])`
        return Response(200, json_body([]))
    wanted = project_ids(projects)
    text = request.get("query")
    date_field = "_coalescedDate" if old_order else "dateCreated"
    ordered = emulator.sorted_rows(
        ("releases", date_field), emulator.dataset.releases,
        lambda r: (release_date(r, old_order), id_key(r.get("id"))),
    )
    rows = []
    for (date, _), release in ordered:
        status = release.get("_status") or "open"
        if status_filter and status != status_filter:
            continue
        if start is not None and end is not None and not (start.timestamp() <= date <= end.timestamp()):
            continue
        if text and text.lower() not in str(release.get("version", "")).lower():
            continue
        # `projects__id__in`; a hand-made release without "projects" belongs to every project
        if "projects" in release and not {str(p.get("id")) for p in release.get("projects") or []} & wanted:
            continue
        rows.append(release)
    page, prev_c, next_c = offset_paginate(rows, limit, cursor)
    return paged(request, page, prev_c, next_c)


def release_date(release: Record, coalesced: bool) -> float:
    """The date sort=date orders by: dateCreated, or COALESCE(dateReleased, dateCreated) before 21.6."""
    if coalesced and release.get("dateReleased"):
        return record_time(release, "dateReleased") or 0.0
    return record_time(release, "dateCreated") or 0.0


def release_deploys(emulator: SentryEmulator, request: Request, org: Record, version: str, **_: Any) -> Response:
    """src/sentry/releases/endpoints/release_deploys.py ReleaseDeploysEndpoint.get: the deploys
    that are the ``last_deploy_id`` of one of the release's (project, environment) rows, for the
    projects get_projects returns (every accessible one here; none -> no project filter),
    ordered by -date_finished, OffsetPaginator. An environment deployed twice lists its last
    deploy only (listed_deploys)."""
    release = next((r for r in emulator.dataset.releases if str(r.get("version")) == version), None)
    if release is None:
        raise ApiError(404, DETAIL_NOT_FOUND)
    limit = per_page(request, emulator.default_page_size)
    cursor = parse_cursor(request.get("cursor"))
    access = emulator.access()
    projects = access.selected_projects(request, include_all_accessible=True, force_global=access.is_org_token)
    slugs = {str(p.get("slug")) for p in projects} or None
    deploys = listed_deploys(release, emulator.dataset.deploys.get(version, []), slugs)
    deploys.sort(key=lambda d: (record_time(d, "dateFinished") or 0.0, id_key(d.get("id"))), reverse=True)
    page, prev_c, next_c = offset_paginate(deploys, limit, cursor)
    return paged(request, page, prev_c, next_c)

"""Releases and a release's deploys."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...dataset import Record
from ..errors import DETAIL_NOT_FOUND, ApiError, InvalidParams
from ..pagination import offset_paginate, paged, parse_cursor, per_page
from ..params import date_range, project_ids_param
from ..plumbing import Request, Response
from ..records import id_key, record_time

if TYPE_CHECKING:
    from ..emulator import SentryEmulator

DETAIL_RELEASE_STATUS = "invalid value for status"  # releases/endpoints/organization_releases.py


def org_releases(emulator: SentryEmulator, request: Request, org: Record, **_: Any) -> Response:
    """OffsetPaginator, newest dateCreated first; ``status`` absent/open, archived, or '' (all: Sentry
    filters only ``if status_filter:``, organization_releases.py)."""
    limit = per_page(request, emulator.default_page_size)
    cursor = parse_cursor(request.get("cursor"))
    sort = request.get("sort") or "date"
    if sort != "date":
        raise ApiError(400, "invalid sort")
    status_filter = request.get("status", "open")
    if status_filter and status_filter not in ("open", "archived"):
        raise ApiError(400, DETAIL_RELEASE_STATUS)
    try:
        start, end = date_range(request, emulator.now(), optional=True)
    except InvalidParams as err:
        raise ApiError(400, f"Invalid date range: {err}") from None
    project_ids = project_ids_param(request, emulator.dataset.projects)
    text = request.get("query")
    ordered = emulator.sorted_rows(
        "releases", emulator.dataset.releases,
        lambda r: (record_time(r, "dateCreated") or 0.0, id_key(r.get("id"))),
    )
    rows = []
    for (created, _), release in ordered:
        status = release.get("_status") or "open"
        if status_filter and status != status_filter:
            continue
        if start is not None and end is not None and not (start.timestamp() <= created <= end.timestamp()):
            continue
        if text and text.lower() not in str(release.get("version", "")).lower():
            continue
        if project_ids is not None and "projects" in release:
            release_projects = {str(p.get("id")) for p in release.get("projects") or []}
            if not release_projects & set(project_ids):
                continue
        rows.append(release)
    page, prev_c, next_c = offset_paginate(rows, limit, cursor)
    return paged(request, page, prev_c, next_c)


def release_deploys(emulator: SentryEmulator, request: Request, org: Record, version: str, **_: Any) -> Response:
    if not any(str(r.get("version")) == version for r in emulator.dataset.releases):
        raise ApiError(404, DETAIL_NOT_FOUND)
    limit = per_page(request, emulator.default_page_size)
    cursor = parse_cursor(request.get("cursor"))
    deploys = list(emulator.dataset.deploys.get(version, []))
    deploys.sort(key=lambda d: (record_time(d, "dateFinished") or 0.0, id_key(d.get("id"))), reverse=True)
    page, prev_c, next_c = offset_paginate(deploys, limit, cursor)
    return paged(request, page, prev_c, next_c)

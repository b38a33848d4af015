"""Issues: a project's (deprecated) and the organization's issue search."""
from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

from ...dataset import Record
from ..errors import ApiError, InvalidParams
from ..pagination import MAX_PER_PAGE, paged, parse_cursor, sequence_paginate
from ..params import date_range, project_ids_param
from ..plumbing import Request, Response
from ..records import id_key, record_time
from .issue_query import parse_issue_query

if TYPE_CHECKING:
    from ..emulator import SentryEmulator

SEARCH_MAX_HITS = 1000
ERR_PROJECT_ISSUES_STATS_PERIOD = "Invalid stats_period. Valid choices are '', '24h', and '14d'"
ERR_ORG_ISSUES_STATS_PERIOD = "Invalid stats_period. Valid choices are '', '24h', '14d' and 'auto'"

# Deprecation of GET /projects/{org}/{project}/issues/ (sentry/api/helpers/deprecation.py headers).
PROJECT_ISSUES_DEPRECATION_DATE = "2024-12-01T00:00:00+00:00"


def project_issues(emulator: SentryEmulator, request: Request, org: Record, project: Record, **_: Any) -> Response:
    stats_period = request.get("statsPeriod")
    if stats_period not in (None, "", "24h", "14d"):
        raise ApiError(400, ERR_PROJECT_ISSUES_STATS_PERIOD)
    stats_period = "24h" if stats_period is None else (stats_period or None)
    issues = list(emulator.dataset.issues.get(str(project.get("slug")), []))
    response = issue_search(emulator, request, issues, window=None, stats_period=stats_period)
    org_slug = str(org.get("slug"))
    response.headers += [
        ("X-Sentry-Deprecation-Date", PROJECT_ISSUES_DEPRECATION_DATE),
        ("X-Sentry-Replacement-Endpoint", f"/api/0/organizations/{org_slug}/issues/"),
    ]
    return response


def org_issues(emulator: SentryEmulator, request: Request, org: Record, **_: Any) -> Response:
    try:
        start, end = date_range(request, emulator.now(), optional=False)
    except InvalidParams as err:
        raise ApiError(400, str(err)) from None
    stats_period = request.get("groupStatsPeriod")
    if stats_period not in (None, "", "24h", "14d", "auto"):
        raise ApiError(400, ERR_ORG_ISSUES_STATS_PERIOD)
    stats_period = "24h" if stats_period is None else (stats_period or None)
    project_ids = project_ids_param(request, emulator.dataset.projects)
    slugs = [
        str(p.get("slug")) for p in emulator.dataset.projects
        if project_ids is None or str(p.get("id")) in project_ids
    ]
    issues = [issue for slug in slugs for issue in emulator.dataset.issues.get(slug, [])]
    return issue_search(emulator, request, issues, window=(start, end), stats_period=stats_period)


def issue_search(emulator: SentryEmulator, request: Request, issues: List[Record], *,
                 window: Optional[Tuple[Optional[datetime], Optional[datetime]]],
                 stats_period: Optional[str]) -> Response:
    """build_query_params_from_request + the snuba search backend + SequencePaginator."""
    limit_raw = request.get("limit")
    limit = emulator.default_page_size
    if limit_raw:
        try:
            limit = int(limit_raw)
        except ValueError:
            raise ApiError(400, "invalid limit") from None
    limit = max(1, min(limit, MAX_PER_PAGE))
    cursor = parse_cursor(request.get("cursor"))
    sort = request.get("sort") or "date"
    score_field = {"date": "lastSeen", "new": "firstSeen", "freq": None}.get(sort, "?")
    if score_field == "?":
        raise ApiError(400, f"Invalid sort: {sort}")
    query = request.get("query", "is:unresolved") if request.has("query") else "is:unresolved"
    filters = parse_issue_query((query or "").strip(), emulator.now)
    candidates = []
    for issue in issues:
        if window is not None:
            start, end = window
            last_seen = record_time(issue, "lastSeen")
            first_seen = record_time(issue, "firstSeen")
            if start is not None and last_seen is not None and last_seen < start.timestamp():
                continue
            if end is not None and first_seen is not None and first_seen > end.timestamp():
                continue
        if all(f(issue) for f in filters):
            candidates.append(issue)
    if score_field is None:
        scored = [(int(issue.get("count") or 0), issue) for issue in candidates]
    else:
        scored = [(int(math.floor(record_time(issue, score_field) or 0.0)) * 1000, issue) for issue in candidates]
    scored.sort(key=lambda kv: (kv[0], id_key(kv[1].get("id"))), reverse=True)
    page, prev_c, next_c = sequence_paginate(scored, limit, cursor)
    if stats_period:
        page = [with_stats(issue, stats_period, emulator.now) for issue in page]
    hits = min(len(scored), SEARCH_MAX_HITS)
    return paged(
        request, page, prev_c, next_c,
        headers=[("X-Hits", str(hits)), ("X-Max-Hits", str(SEARCH_MAX_HITS))],
    )


def with_stats(issue: Record, period: str, clock: Callable[[], datetime]) -> Record:
    """The issue with empty stats for ``period`` when it has none (new issues have no buckets)."""
    if isinstance(issue.get("stats"), dict) and period in issue["stats"]:
        return issue
    if period == "14d":
        step, points = 86400, 14
    elif period == "24h":
        step, points = 3600, 24
    else:  # auto: the caller's window is unknown here, fall back to 24h
        step, points = 3600, 24
    now = int(clock().timestamp()) // step * step
    buckets = [[now - step * i, 0] for i in range(points - 1, -1, -1)]
    return {**issue, "stats": {period: buckets}}

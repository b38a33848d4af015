"""Issues: a project's (deprecated) and the organization's issue search."""
from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

from ...dataset import Record
from ..errors import ApiError, InvalidParams
from ..pagination import MAX_PER_PAGE, paged, parse_cursor, sequence_paginate
from ..params import date_range
from ..plumbing import Request, Response, json_body
from ..records import id_key, record_time
from .issue_query import parse_issue_query
from .issue_stats import seen_stats

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
    issues = [(issue, issue) for issue in emulator.dataset.issues.get(str(project.get("slug")), [])]
    response = issue_search(emulator, request, issues, stats_period=stats_period,
                            frequency=lambda issue: int(issue.get("count") or 0)).finish(emulator)
    org_slug = str(org.get("slug"))
    response.headers += [
        ("X-Sentry-Deprecation-Date", PROJECT_ISSUES_DEPRECATION_DATE),
        ("X-Sentry-Replacement-Endpoint", f"/api/0/organizations/{org_slug}/issues/"),
    ]
    return response


def org_issues(emulator: SentryEmulator, request: Request, org: Record, **_: Any) -> Response:
    """src/sentry/issues/endpoints/organization_group_index.py OrganizationGroupIndexEndpoint.get:
    the window is never optional (90 days by default), the projects come from get_projects, and
    the issues are serialized by StreamGroupSerializerSnuba over that window (issue_stats.py)."""
    try:
        start, end = date_range(request, emulator.now(), optional=False)
    except InvalidParams as err:
        raise ApiError(400, str(err)) from None
    assert start is not None and end is not None
    stats_period = request.get("groupStatsPeriod")
    if stats_period not in (None, "", "24h", "14d", "auto"):
        raise ApiError(400, ERR_ORG_ISSUES_STATS_PERIOD)
    stats_period = "24h" if stats_period is None else (stats_period or None)
    projects = emulator.access().selected_projects(request)
    if not projects:
        return Response(200, json_body([]))  # `if not projects: return Response([])`
    issues = [issue for p in projects for issue in emulator.dataset.issues.get(str(p.get("slug")), [])]
    retention = emulator.retention_start()
    # The search clamps its start to the last 90 days and the retention, whatever was asked
    # (src/sentry/search/snuba/executors.py PostgresSnubaQueryExecutor.query); the serializer
    # keeps the request's window (snuba clamps it to the retention: utils/snuba.py _prepare_start_end).
    oldest = (emulator.now() - emulator.issue_search_max_age).timestamp() if emulator.issue_search_max_age else 0.0
    search_start = max(start.timestamp(), oldest, retention or 0.0)
    search_end = end.timestamp()
    serializer_window = (max(start.timestamp(), retention or 0.0), end.timestamp())
    timelines = {}
    viewed = []
    for issue in issues:
        timeline = emulator.issue_timeline(issue)
        last_seen = timeline.last_seen(search_start, search_end) if search_start < search_end else None
        if last_seen is None:  # no event in the search window: the snuba search cannot find it
            continue
        timelines[id(issue)] = timeline
        # lastSeen terms are a HAVING on max(timestamp) over the window (executors.py
        # aggregation_defs); is:, firstSeen: and age: read the Group row (Postgres).
        viewed.append(({**issue, "lastSeen": float(last_seen)}, issue))
    response = issue_search(
        emulator, request, viewed, stats_period=stats_period,
        frequency=lambda issue: timelines[id(issue)].count(search_start, search_end),
    )
    response.records = [
        seen_stats(issue, timelines[id(issue)], serializer_window, retention, stats_period)
        for issue in response.records
    ]
    return response.finish(emulator)


class _IssuePage:
    """A page of issue records still to be rendered (with stats) into the response."""

    def __init__(self, request: Request, records: List[Record], prev_c, next_c, hits: int, stats_period: Optional[str]):
        self.request, self.records, self.prev_c, self.next_c = request, records, prev_c, next_c
        self.hits, self.stats_period = hits, stats_period

    def finish(self, emulator: SentryEmulator) -> Response:
        page = self.records
        if self.stats_period:
            page = [with_stats(issue, self.stats_period, emulator.now) for issue in page]
        return paged(
            self.request, page, self.prev_c, self.next_c,
            headers=[("X-Hits", str(self.hits)), ("X-Max-Hits", str(SEARCH_MAX_HITS))],
        )


def issue_search(emulator: SentryEmulator, request: Request, issues: List[Tuple[Record, Record]], *,
                 stats_period: Optional[str], frequency: Callable[[Record], int]) -> _IssuePage:
    """build_query_params_from_request + the snuba search backend + SequencePaginator.

    ``issues`` are (what the search sees, the record served) pairs."""
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
    candidates = [(seen, served) for seen, served in issues if all(f(seen) for f in filters)]
    if score_field is None:
        scored = [(frequency(served), served) for seen, served in candidates]
    else:
        scored = [(int(math.floor(record_time(seen, score_field) or 0.0)) * 1000, served) for seen, served in candidates]
    scored.sort(key=lambda kv: (kv[0], id_key(kv[1].get("id"))), reverse=True)
    page, prev_c, next_c = sequence_paginate(scored, limit, cursor)
    return _IssuePage(request, page, prev_c, next_c, min(len(scored), SEARCH_MAX_HITS), stats_period)


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

"""Usage statistics: GET /organizations/{org}/stats_v2/, aggregated from the dataset's outcome rows."""
from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Tuple

from ...dataset import Record
from ..errors import ApiError, InvalidParams
from ..access import ALL_ACCESS_PROJECT_ID, project_ids, requested_project_ids
from ..params import date_range, parse_stats_period
from ..plumbing import Request, Response, json_body
from ..records import UTC, record_time

if TYPE_CHECKING:
    from ..emulator import SentryEmulator

# Outcomes (sentry/utils/outcomes.py) and the data categories accepted by stats_v2.
OUTCOMES = ("accepted", "filtered", "rate_limited", "invalid", "abuse", "client_discard", "cardinality_limited")
CATEGORIES = (
    "error",
    "default",
    "security",
    "transaction",
    "transaction_indexed",
    "attachment",
    "session",
    "profile",
    "profile_indexed",
    "profile_duration",
    "profile_chunk",
    "replay",
    "monitor",
    "monitor_seat",
    "span",
    "span_indexed",
    "user_report_v2",
    "feedback",
    "log_item",
    "log_byte",
    "uptime",
    "attachment_item",
)
ERROR_CATEGORIES = {"error", "default", "security"}
STATS_FIELDS = ("sum(quantity)", "sum(times_seen)")
STATS_GROUPBY = ("outcome", "category", "reason", "key_id", "project")
STATS_MAX_POINTS = 1000


def org_stats_v2(emulator: SentryEmulator, request: Request, org: Record, **_: Any) -> Response:
    """sentry/snuba/outcomes.py QueryDefinition + sessions_v2.massage_sessions_result."""
    fields = request.getlist("field")
    groupby = request.getlist("groupBy")
    if not fields:
        raise ApiError(400, 'At least one "field" is required.')
    # get_constrained_date_range
    interval_td = parse_stats_period(request.get("interval", "1h") or "")
    interval = 3600 if interval_td is None else int(interval_td.total_seconds())
    if interval % 3600 != 0 or interval < 3600:
        raise ApiError(400, "The interval has to be a multiple of the minimum interval of one hour.")
    if interval > 86400:
        raise ApiError(400, "The interval has to be less than one day.")
    if 86400 % interval != 0:
        raise ApiError(400, "The interval should divide one day without a remainder.")
    try:
        start, end = date_range(request, emulator.now(), optional=False)
    except InvalidParams as err:
        raise ApiError(400, str(err)) from None
    assert start is not None and end is not None
    if emulator.behaviour.stats_end_inclusive:
        start_ts, end_ts = inclusive_end_range(start.timestamp(), end.timestamp(), interval,
                                               bool(request.get("end")), emulator.now().timestamp())
    else:
        start_ts, end_ts = aligned_range(start.timestamp(), end.timestamp(), interval, emulator.now().timestamp())
    for key in fields:
        if key not in STATS_FIELDS:
            raise ApiError(400, f'Invalid field: "{key}"')
    for key in groupby:
        if key not in STATS_GROUPBY:
            raise ApiError(400, f'Invalid groupBy: "{key}"')
    categories = request.getlist("category")
    if not categories and "category" not in groupby:
        raise ApiError(400, "Query must have category as groupby or filter")
    wanted_categories = set()
    for category in categories:
        if category not in CATEGORIES:
            raise ApiError(400, f'Invalid category: "{category}"')
        wanted_categories |= ERROR_CATEGORIES if category == "error" else {category}
    if "attachment" in wanted_categories and len(wanted_categories) > 1:
        raise ApiError(400, "if filtering by attachment no other category may be present")
    outcomes = request.getlist("outcome")
    for outcome in outcomes:
        if outcome not in OUTCOMES:
            raise ApiError(400, f'Invalid outcome: "{outcome}"')
    reasons = {"smart_rate_limit" if r == "spike_protection" else r for r in request.getlist("reason")}
    wanted_projects = stats_projects(emulator, request, groupby)

    intervals = list(range(int(start_ts), int(end_ts), interval))
    totals: Dict[Tuple, Dict[str, int]] = {}
    series: Dict[Tuple, Dict[str, List[int]]] = {}
    for row in emulator.dataset.usage:
        ts = record_time(row, "date") if "date" in row else record_time(row, "timestamp")
        if ts is None or not (start_ts <= ts < end_ts):
            continue
        category = str(row.get("category", "error"))
        if wanted_categories and category not in wanted_categories:
            continue
        outcome = str(row.get("outcome", "accepted"))
        if outcomes and outcome not in outcomes:
            continue
        reason = row.get("reason")
        if reasons and reason not in reasons:
            continue
        project_id = row.get("project_id")
        if wanted_projects is not None and str(project_id) not in wanted_projects:
            continue
        by: Dict[str, Any] = {}
        for key in groupby:
            if key == "category":
                by["category"] = "error" if category in ERROR_CATEGORIES else category
            elif key == "outcome":
                by["outcome"] = outcome
            elif key == "reason":
                by["reason"] = "spike_protection" if reason == "smart_rate_limit" else (reason or "none")
            elif key == "project":
                by["project"] = int(project_id) if str(project_id).isdigit() else project_id
            elif key == "key_id":
                by["key_id"] = row.get("key_id")
        group_key = tuple(sorted(by.items(), key=lambda kv: kv[0]))
        quantity = int(row.get("quantity") or 0)
        times_seen = int(row.get("times_seen", quantity) or 0)
        values = {"sum(quantity)": quantity, "sum(times_seen)": times_seen}
        group_totals = totals.setdefault(group_key, {f: 0 for f in fields})
        group_series = series.setdefault(group_key, {f: [0] * len(intervals) for f in fields})
        index = int((ts - start_ts) // interval)
        for f in fields:
            group_totals[f] += values[f]
            group_series[f][index] += values[f]
    with_series = "project" not in groupby
    groups = []
    for group_key in sorted(totals, key=lambda k: [(name, str(v)) for name, v in k]):
        group: Dict[str, Any] = {"by": dict(group_key), "totals": totals[group_key]}
        if with_series:
            group["series"] = series[group_key]
        groups.append(group)
    result: Dict[str, Any] = {"start": isoformat_z(start_ts), "end": isoformat_z(end_ts)}
    if with_series:
        result["intervals"] = [isoformat_z(ts) for ts in intervals]
    result["groups"] = groups
    return Response(200, json_body(result))


def isoformat_z(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).replace(tzinfo=None).isoformat() + "Z"


DETAIL_TOO_MANY_POINTS = ("Your interval and date range would create too many results. "
                          "Use a larger interval, or a smaller date range.")


def aligned_range(start: float, end: float, interval: int, now: float) -> Tuple[float, float]:
    """Current Sentry (src/sentry/snuba/sessions_v2.py get_constrained_date_range with
    metrics/utils.py to_intervals): a start in the future becomes now, the start is floored to
    the interval and the end rounded up to it unless aligned; the query is [start, end)."""
    start = min(start, now)
    start_ts = math.floor(start / interval) * interval
    end_ts = math.ceil(end / interval) * interval
    if (end_ts - start_ts) / interval > STATS_MAX_POINTS:
        raise ApiError(400, DETAIL_TOO_MANY_POINTS)
    return start_ts, end_ts


def inclusive_end_range(start: float, end: float, interval: int, explicit_end: bool, now: float) -> Tuple[float, float]:
    """Sentry before 23.12.0 (get_constrained_date_range, its "+1 second" version): an explicit end
    gets one second more (inclusive), the range is rounded up to whole rounding intervals (the
    interval rounded up to hours) counted back from the end rounded up, and an end in the future
    becomes the next full minute. start=D 00:00, end=D+1 00:00, interval=1d is [D, D+2)."""
    if explicit_end:
        end += 1
    rounding = int(math.ceil(interval / 3600) * 3600)
    span = rounding * math.ceil((end - start) / rounding)
    if span / interval > STATS_MAX_POINTS:
        raise ApiError(400, DETAIL_TOO_MANY_POINTS)
    end_ts = rounding * math.ceil(end / rounding)
    if rounding > interval and end_ts - span > start:
        span += rounding
    start_ts = end_ts - span
    if end_ts > now:
        end_ts = 60 * (math.floor(now / 60) + 1)
    return start_ts, end_ts


def stats_projects(emulator: SentryEmulator, request: Request, groupby: List[str]) -> Optional[Set[str]]:
    """The project ids the outcomes query filters on (None: the whole organization).

    src/sentry/api/endpoints/organization_stats_v2.py _get_projects_for_orgstats_query (2023
    version): with ``project`` absent or exactly -1 and no grouping by project, the query is
    organization-wide (every project, whatever the user's teams); otherwise get_projects: absent
    -> the user's team projects, -1 -> every accessible project, and none -> 400. Its groupBy test
    reads ``request.GET.get("groupBy")``, the LAST groupBy value only."""
    requested = requested_project_ids(request)
    last_groupby = groupby[-1] if groupby else ""
    if requested in (set(), {ALL_ACCESS_PROJECT_ID}) and "project" not in last_groupby:
        return None
    projects = emulator.access().selected_projects(request)
    if not projects:
        raise ApiError(400, "No projects available")
    return project_ids(projects)

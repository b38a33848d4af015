"""GET /organizations/{org}/events/: Sentry's Explore table (spans, logs, transactions, errors).

Modelled on getsentry/sentry (facts and their sources: /work/notes/sentry-explore.md):
- src/sentry/api/endpoints/organization_events.py OrganizationEventsEndpoint.get: the datasets,
  ``per_page`` up to 9999 for logs (100 otherwise), GenericOffsetPaginator (cursor ``0:<offset>:0``),
  the rate limit (30 requests per second, 15 at once);
- src/sentry/api/bases/organization_events.py: ``get_dataset`` (the 400 naming every dataset),
  ``get_snuba_params`` (at most 20 fields; several projects need the ``global-views`` feature),
  ``handle_results_with_meta`` (``{"data", "meta"}`` with fields, units, dataset...);
- src/sentry/api/bases/organization.py OrganizationEndpoint.get_projects: ``project`` (ids, -1 for
  every project) or ``projectSlug`` (slugs, ``$all``); no project asked = the member's projects; an
  unknown one is a 403;
- the discover query builder (errors, transactions): window start inclusive, end exclusive; sorting
  only by selected fields ("Cannot sort by a field that is not selected."); a window wholly older than
  the retention is a 400;
- the EAP resolver (spans, logs): unknown names are string attributes; an unselected sort key is
  refused by Snuba, which Sentry answers with a 500; ``sampling`` picks the storage tier and
  ``meta.dataScanned`` says "partial" when rows came from a downsampled one.

Beyond Sentry's code, the emulator models what the issue describes and Sentry's code does not show:
an offset cap (``SentryEmulator.explore_offset_cap``, default 10,000 rows: rows past it are never
served and the page that reaches it says there is no next page, a silent truncation), spans older
than 30 days kept only in a downsampled tier (1 in 8, answered with ``dataScanned: "partial"``), logs
older than 30 days gone (``explore_full_fidelity_days``), and, when ``explore_normal_sampling_limit`` is set, a NORMAL-mode query over
more rows than that answered from half of them (``partial``).
"""
from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple

from ...dataset import Record
from ..errors import DETAIL_FORBIDDEN, ApiError, InvalidParams
from ..explore_fields import (
    DATASET_LABEL, DATASET_OPTIONS, DISCOVER_DATASETS, EAP_DATASETS, Column, FieldError, aggregate, error_rows,
    function_alias, resolve_column,
)
from ..explore_query import compile_query
from ..pagination import generic_offset_paginate, link_header, parse_cursor, per_page
from ..params import date_range
from ..plumbing import Request, Response, json_body

if TYPE_CHECKING:
    from ..emulator import SentryEmulator

MAX_FIELDS = 20  # sentry.utils.snuba MAX_FIELDS
DETAIL_TOO_MANY_FIELDS = "You can view up to 20 fields at a time. Please delete some and try again."
DETAIL_MULTIPLE_PROJECTS = "You cannot view events from multiple projects."
DETAIL_SORT_NOT_SELECTED = "Cannot sort by a field that is not selected."
DETAIL_OUT_OF_RETENTION = "Invalid date range. Please try a more recent date range."
DETAIL_RPC_ERROR = "Internal error. Please try again."  # SnubaRPCError in handle_query_errors
SAMPLING_MODES = ("BEST_EFFORT", "PREFLIGHT", "NORMAL", "HIGHEST_ACCURACY", "HIGHEST_ACCURACY_FLEX_TIME")
DISCOVER_RETENTION = timedelta(days=90)


def org_events(emulator: SentryEmulator, request: Request, org: Record, **_: Any) -> Response:
    dataset = request.get("dataset") or "discover"
    if dataset not in DATASET_OPTIONS:
        raise ApiError(400, f"dataset must be one of: {', '.join(DATASET_OPTIONS)}")
    eap = dataset in EAP_DATASETS
    limit = per_page(request, emulator.default_page_size, maximum=9999 if dataset in ("logs", "ourlogs", "tracemetrics") else 100)
    cursor = parse_cursor(request.get("cursor"))
    fields = request.getlist("field")
    if len(fields) > MAX_FIELDS:
        raise ApiError(400, DETAIL_TOO_MANY_FIELDS)
    now = emulator.now()
    try:
        start, end = date_range(request, now, optional=False)
    except InvalidParams as error:
        raise ApiError(400, f"Invalid date range: {error}") from None
    projects = _projects(emulator, request)
    if not projects:
        return Response(200, json_body({"data": [], "meta": {"tips": {"query": "Need at least one valid project to query."}}}))
    if len(projects) > 1 and "global-views" not in (org.get("features") or []):
        raise ApiError(400, DETAIL_MULTIPLE_PROJECTS)
    sampling = request.get("sampling")
    if eap and sampling is not None and sampling not in SAMPLING_MODES:
        raise ApiError(400, f"sampling mode: {sampling} is not supported")
    if dataset not in EAP_DATASETS | DISCOVER_DATASETS:
        return _respond(request, dataset, [], [], limit, cursor, eap=False, partial=False)
    try:
        columns = _columns(dataset, fields)
        predicate = compile_query(request.get("query") or "", dataset, [p["slug"] for p in projects])
    except FieldError as error:
        raise ApiError(error.status, error.args[0]) from None
    grouped = any(column.is_aggregate for column in columns)
    # The pages of one query differ only by cursor and size: its rows are worked out once (per minute
    # and dataset version), as a windowed query above the offset cap is asked a hundred times.
    key = ("explore", emulator.dataset_version, int(now.timestamp() // 60), emulator.explore_offset_cap,
           emulator.explore_normal_sampling_limit, emulator.explore_full_fidelity_days,
           tuple((name, value) for name, value in request.pairs if name not in ("cursor", "per_page")))
    cached = emulator.explore_results.get(key)
    if cached is None:
        cached = _table(emulator, request, dataset, columns, predicate, projects, start, end, now, sampling)
        if len(emulator.explore_results) > 64:
            emulator.explore_results.clear()
        emulator.explore_results[key] = cached
    output, partial = cached
    return _respond(request, dataset, output, columns, limit, cursor, eap=eap, partial=partial, grouped=grouped)


def _table(emulator: SentryEmulator, request: Request, dataset: str, columns: List[Column], predicate: Any,
           projects: Sequence[Record], start: Any, end: Any, now: Any, sampling: Optional[str]) -> Tuple[List[Record], bool]:
    """The query's whole result (sorted, capped) and whether it came from sampled data."""
    eap = dataset in EAP_DATASETS
    grouped = any(column.is_aggregate for column in columns)
    group_by = [column for column in columns if not column.is_aggregate]
    if grouped and eap and any(column.source == "timestamp" for column in group_by):
        raise ApiError(500, DETAIL_RPC_ERROR)  # Snuba: "Columns timestamp are not permitted in group_by"
    lower, upper = start.timestamp(), end.timestamp()
    partial = False
    if dataset in DISCOVER_DATASETS:
        retention = (now - DISCOVER_RETENTION).timestamp()
        if upper <= retention:
            raise ApiError(400, DETAIL_OUT_OF_RETENTION)
        lower = max(lower, retention)
    project_ids = {p["_project_id"] if "_project_id" in p else int(p["id"]) for p in projects}
    environments = set(request.getlist("environment"))
    # spans: full fidelity for 30 days, then downsampled; logs: kept 30 days (sentry-docs data-retention-periods.mdx)
    full_fidelity_from = (now - timedelta(days=emulator.explore_full_fidelity_days)).timestamp()
    rows = []
    for row in _source_rows(emulator, dataset):
        ts = row["_ts"]
        if not (lower <= ts < upper) or row["_project_id"] not in project_ids:
            continue
        if environments and row.get("environment") not in environments:
            continue
        if eap and ts < full_fidelity_from:
            if dataset != "spans" or not row.get("_in_sampled_tier"):
                continue  # logs are gone after 30 days; spans survive in the downsampled tier only
            partial = True
        if eap and sampling == "PREFLIGHT" and not row.get("_in_sampled_tier"):
            partial = True
            continue
        if predicate(row):
            rows.append(row)
    limit_normal = emulator.explore_normal_sampling_limit
    if eap and sampling in (None, "NORMAL", "BEST_EFFORT") and limit_normal is not None and len(rows) > limit_normal:
        rows = [row for index, row in enumerate(rows) if index % 2 == 0]
        partial = True
    output = _aggregate(rows, columns, group_by) if grouped else [{column.name: row.get(column.source) if column.source else None for column in columns} for row in rows]
    ordering = request.getlist("sort") or request.getlist("orderby")
    if ordering:
        keyed = list(zip(output, rows)) if not grouped else [(out, out) for out in output]
        output = [out for out, _ in _sorted(keyed, ordering, columns, dataset, grouped)]
    if emulator.explore_offset_cap is not None:
        output = output[: emulator.explore_offset_cap]
    return output, partial


def _columns(dataset: str, fields: Sequence[str]) -> List[Column]:
    """The requested columns and the ones Sentry adds (discover builder resolve_select, EAP
    SearchResolver.resolve_columns with auto_fields: `id` on rows, then `project.name` beside `id`
    unless `project.id` is selected; not for logs, which add `timestamp_precise` beside `timestamp`)."""
    columns = [resolve_column(dataset, field) for field in fields]
    names = [column.name for column in columns]
    grouped = any(column.is_aggregate for column in columns)
    if dataset in ("logs", "ourlogs"):
        if "timestamp" in names and "timestamp_precise" not in names:
            columns.append(resolve_column(dataset, "timestamp_precise"))
        return columns
    if not grouped and "id" not in names:
        columns.append(resolve_column(dataset, "id"))
        names.append("id")
    if "id" in names and "project.id" not in names and "project.name" not in names:
        columns.append(resolve_column(dataset, "project.name"))
    return columns


def _projects(emulator: SentryEmulator, request: Request) -> List[Record]:
    """OrganizationEndpoint.get_projects: slugs in ``projectSlug`` (``$all``: every accessible
    project), else ids in ``project`` (access.py: -1, the member's projects by default)."""
    access = emulator.access()
    slugs = [value for value in request.getlist("projectSlug") if value]
    if not slugs:
        return access.selected_projects(request)
    if "$all" in slugs:
        return access.projects(include_all_accessible=True)
    chosen = [p for p in emulator.dataset.projects if p["slug"] in slugs]
    if {p["slug"] for p in chosen} != set(slugs) or not all(access.has_access(p) for p in chosen):
        raise ApiError(403, DETAIL_FORBIDDEN)  # _validate_fetched_projects
    return chosen


def _source_rows(emulator: SentryEmulator, dataset: str) -> List[Record]:
    explore = emulator.dataset.explore
    if dataset in ("logs", "ourlogs"):
        return explore.get("logs", [])
    if dataset == "spans":
        return explore.get("spans", [])
    if dataset == "transactions":
        return explore.get("transactions", [])
    errors = error_rows(emulator.dataset, emulator.explore_cache)
    return errors if dataset == "errors" else errors + explore.get("transactions", [])


def _aggregate(rows: Sequence[Record], columns: Sequence[Column], group_by: Sequence[Column]) -> List[Record]:
    groups: Dict[Tuple[Any, ...], List[Record]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(column.source) for column in group_by), []).append(row)
    if not groups and not group_by:
        groups[()] = []  # an aggregate without a group-by answers one row, even over no data
    output = []
    for key, members in groups.items():
        values = dict(zip((column.name for column in group_by), key))
        output.append({column.name: values[column.name] if not column.is_aggregate else aggregate(column, members) for column in columns})
    return output


def _sorted(keyed: List[Tuple[Record, Record]], ordering: Sequence[str], columns: Sequence[Column], dataset: str, grouped: bool):
    by_name = {column.name: column for column in columns}
    by_alias = {function_alias(column.name): column for column in columns if column.is_aggregate}
    for key in reversed(ordering):
        descending = key.startswith("-")
        bare = key.lstrip("-")
        column = by_name.get(bare) or by_alias.get(bare)
        if column is None:
            if dataset in EAP_DATASETS:
                raise ApiError(500, DETAIL_RPC_ERROR)  # Snuba: "Ordered by columns ... not selected"
            raise ApiError(400, DETAIL_SORT_NOT_SELECTED)
        if dataset in ("logs", "ourlogs") and column.source == "timestamp" and not grouped:
            # ordering by timestamp uses the precise one (test_timestamp_order)
            value = lambda pair: pair[1].get("timestamp_precise")
        else:
            value = lambda pair, name=column.name: pair[0].get(name)
        present = [pair for pair in keyed if value(pair) is not None]
        missing = [pair for pair in keyed if value(pair) is None]
        keyed = sorted(present, key=value, reverse=descending) + missing
    return keyed


def _respond(request: Request, dataset: str, output: List[Record], columns: Sequence[Column], limit: int,
             cursor: Any, *, eap: bool, partial: bool, grouped: bool = False) -> Response:
    page, prev_cursor, next_cursor = generic_offset_paginate(output, limit, cursor)
    meta: Dict[str, Any] = {
        "fields": {column.name: column.type_unit[0] for column in columns},
        "units": {column.name: column.type_unit[1] for column in columns},
        "isMetricsData": False,
        "isMetricsExtractedData": False,
        "tips": {},
        "datasetReason": "unchanged",
        "dataset": DATASET_LABEL.get(dataset, dataset),
    }
    body: Dict[str, Any] = {"data": page, "meta": meta}
    if eap:
        confidence = [{column.name: "high" for column in columns if column.is_aggregate} for _ in page]
        meta.update(dataScanned="partial" if partial else "full", bytesScanned=120 * len(output),
                    accuracy={"confidence": confidence})
        body["confidence"] = confidence  # the deprecated top-level copy
    return Response(200, json_body(body), headers=[("Link", link_header(request, prev_cursor, next_cursor))])

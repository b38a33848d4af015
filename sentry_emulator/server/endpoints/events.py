"""A project's events."""
from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ...dataset import Record, event_summary
from ..errors import ApiError, InvalidParams
from ..pagination import generic_offset_paginate, paged, parse_cursor, per_page
from ..params import date_range
from ..plumbing import Request, Response
from ..records import record_time

if TYPE_CHECKING:
    from ..emulator import SentryEmulator

DETAIL_EVENTS_DATE_RANGE = "Invalid date range parameters provided"  # issues/endpoints/project_events.py


def project_events(emulator: SentryEmulator, request: Request, org: Record, project: Record, **_: Any) -> Response:
    """GenericOffsetPaginator over events newest first (timestamp, then event id, descending);
    start/end/statsPeriod bound the event timestamp, end exclusive. Sentry before 25.8.0 reads no
    date parameter at all (versions.py events_ignore_dates): every retained event is listed."""
    limit = per_page(request, emulator.default_page_size)
    cursor = parse_cursor(request.get("cursor"))
    if emulator.behaviour.events_ignore_dates:
        start = end = None
    else:
        try:
            start, end = date_range(request, emulator.now(), optional=True)
        except InvalidParams:
            raise ApiError(400, DETAIL_EVENTS_DATE_RANGE) from None
    full = request.get("full") in ("1", "true")
    slug = str(project.get("slug"))
    ordered = emulator.sorted_rows(
        ("events", slug), emulator.dataset.events.get(slug, []),
        lambda e: (math.floor(record_time(e, "dateCreated") or 0.0), str(e.get("id", ""))),
    )
    lower = start.timestamp() if start is not None else None
    upper = end.timestamp() if end is not None else None
    if emulator.retention_days is not None:
        retention = (emulator.now() - timedelta(days=emulator.retention_days)).timestamp()
        lower = retention if lower is None else max(lower, retention)
    if lower is None and upper is None:
        rows = [event for _, event in ordered]
    else:
        rows = [
            event for (ts, _), event in ordered
            if (lower is None or ts >= lower) and (upper is None or ts < upper)
        ]
    page, prev_c, next_c = generic_offset_paginate(rows, limit, cursor)
    if not full:
        page = [event_summary(event) for event in page]
    return paged(request, page, prev_c, next_c)

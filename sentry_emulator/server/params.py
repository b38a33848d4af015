"""Query parameters several endpoints share: date ranges and stats periods (project ids: access.py)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Optional, Tuple

from .errors import InvalidParams
from .plumbing import Request
from .records import UTC, parse_iso

MAX_STATS_PERIOD = timedelta(days=90)  # sentry/api/utils.py MAX_STATS_PERIOD

_PERIOD_RE = re.compile(r"^(\d+)([hdmsw]?)$")
_PERIOD_UNITS = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_datetime_string(value: str) -> datetime:
    """sentry/search/utils.py parse_datetime_string: ISO 8601 (naive = UTC) or a unix timestamp."""
    try:
        return parse_iso(value)
    except (ValueError, IndexError):
        pass
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise InvalidParams(f"{value} is not a valid ISO8601 date query")


def parse_stats_period(period: str) -> Optional[timedelta]:
    """sentry/utils/dates.py parse_stats_period: ``<number><s|m|h|d|w>``, bare numbers are seconds."""
    match = _PERIOD_RE.match(period or "")
    if not match:
        return None
    number, unit = match.groups()
    try:
        return timedelta(**{_PERIOD_UNITS[unit]: int(number)})
    except OverflowError:
        return timedelta.max


def date_range(request: Request, now: datetime, *, optional: bool,
               default_period: timedelta = MAX_STATS_PERIOD) -> Tuple[Optional[datetime], Optional[datetime]]:
    """sentry/api/utils.py get_date_range_from_params (statsPeriod wins over start/end)."""
    start: Optional[datetime] = now - default_period
    end: Optional[datetime] = now
    stats_period = request.get("statsPeriod")
    period_start, period_end = request.get("statsPeriodStart"), request.get("statsPeriodEnd")
    if stats_period is not None:
        delta = parse_stats_period(stats_period)
        if delta is None:
            raise InvalidParams(f"Invalid statsPeriod: {stats_period!r}")
        try:
            start = now - delta
        except OverflowError:
            raise InvalidParams(f"Invalid statsPeriod: {stats_period!r}") from None
    elif period_start or period_end:
        if not period_start or not period_end:
            raise InvalidParams("statsPeriodStart and statsPeriodEnd are both required")
        delta_start, delta_end = parse_stats_period(period_start), parse_stats_period(period_end)
        if delta_start is None:
            raise InvalidParams(f"Invalid statsPeriod: {period_start!r}")
        if delta_end is None:
            raise InvalidParams(f"Invalid statsPeriod: {period_end!r}")
        start, end = now - delta_start, now - delta_end
    elif request.get("start") or request.get("end"):
        if not (request.get("start") and request.get("end")):
            raise InvalidParams("start and end are both required")
        start = parse_datetime_string(request.get("start") or "")
        end = parse_datetime_string(request.get("end") or "")
    elif optional:
        return None, None
    assert start is not None and end is not None
    if start >= end:
        raise InvalidParams("start must be before end")
    return start, end

"""An issue's "seen stats" (count, userCount, firstSeen, lastSeen) as the organization issues
endpoint computes them from the issue's events.

Each issue record keeps its event timeline in the private ``_events``: ``[[epoch second, user key
or None], ...]`` ascending (the seconds of its events; Snuba's ``timestamp`` column has whole
seconds). An issue without one (a hand-made record) gets a deterministic timeline from its own
fields: ``count`` events spread evenly from ``firstSeen`` to ``lastSeen``, their users taken in
turn from ``userCount`` users. The record's own ``count`` and ``firstSeen`` are Postgres'
``Group.times_seen`` and ``Group.first_seen``: all-time values that can exceed what the retained
events show.

Sources (getsentry/sentry):
- src/sentry/api/serializers/models/group_stream.py StreamGroupSerializerSnuba: the top-level
  seen stats are queried with the serializer's start/end (the request's window), ``lifetime`` with
  no bounds, ``filtered`` with the window and the query's Snuba-side conditions (``serialize``,
  ``__seen_stats_impl``).
- src/sentry/api/serializers/models/group.py GroupSerializerSnuba._parse_seen_stats_results: with
  a window, times_seen and first_seen come from the windowed query; without one (``lifetime``)
  from the Group row (Postgres); ``_convert_seen_stats`` renders count as a string.
- src/sentry/utils/snuba.py _prepare_start_end: an unbounded query still starts at the
  organization's retention, so lifetime.userCount and lifetime.lastSeen are over retention.
"""
from __future__ import annotations

import math
from bisect import bisect_left
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

from ...dataset import Record, format_datetime
from ..records import record_time

Timeline = List[Tuple[int, Optional[str]]]


def derived_timeline(issue: Record) -> Timeline:
    """The deterministic timeline of an issue record that has no ``_events``."""
    last = record_time(issue, "lastSeen")
    if last is None:
        return []
    first = record_time(issue, "firstSeen")
    last_s = int(math.floor(last))
    first_s = min(int(math.floor(first)), last_s) if first is not None else last_s
    try:
        count = max(1, int(issue.get("count") or 1))
    except (TypeError, ValueError):
        count = 1
    try:
        users = max(0, int(issue.get("userCount") or 0))
    except (TypeError, ValueError):
        users = 0
    if count == 1:
        times = [last_s]
    else:
        times = [first_s + (last_s - first_s) * i // (count - 1) for i in range(count)]
    return [(t, f"user-{i % users}" if users else None) for i, t in enumerate(times)]


def timeline_of(issue: Record) -> Timeline:
    events = issue.get("_events")
    if events is None:
        return derived_timeline(issue)
    return [(int(t), user) for t, user in events]


class IssueTimeline:
    """One issue's timeline with the queries the search and the serializer run on it."""

    def __init__(self, issue: Record) -> None:
        self.issue = issue
        self.events = timeline_of(issue)
        self.times = [t for t, _ in self.events]

    def _span(self, start: Optional[float], end: Optional[float]) -> Tuple[int, int]:
        lo = 0 if start is None else bisect_left(self.times, math.ceil(start))
        hi = len(self.times) if end is None else bisect_left(self.times, math.ceil(end))
        return lo, hi

    def last_seen(self, start: Optional[float], end: Optional[float]) -> Optional[int]:
        """max(timestamp) over [start, end): the search's lastSeen and its sort score."""
        lo, hi = self._span(start, end)
        return self.times[hi - 1] if hi > lo else None

    def count(self, start: Optional[float], end: Optional[float]) -> int:
        lo, hi = self._span(start, end)
        return max(0, hi - lo)

    def stats(self, start: Optional[float], end: Optional[float]) -> Dict[str, Any]:
        """count(), uniq(user), min and max timestamp over [start, end)."""
        lo, hi = self._span(start, end)
        if hi <= lo:
            return {"count": 0, "userCount": 0, "firstSeen": None, "lastSeen": None}
        users = {user for _, user in self.events[lo:hi] if user is not None}
        return {"count": hi - lo, "userCount": len(users), "firstSeen": self.times[lo], "lastSeen": self.times[hi - 1]}


def seen_stats(issue: Record, timeline: IssueTimeline, window: Tuple[Optional[float], Optional[float]],
               retention_start: Optional[float], stats_period: Optional[str]) -> Record:
    """The issue as StreamGroupSerializerSnuba serializes it for a request window [start, end)."""
    start, end = window
    windowed = timeline.stats(start, end)
    retained = timeline.stats(retention_start, None)
    lifetime: Record = {
        "count": str(issue.get("count") if issue.get("count") is not None else retained["count"]),
        "userCount": retained["userCount"],
        "firstSeen": issue.get("firstSeen") if issue.get("firstSeen") is not None else _render(retained["firstSeen"]),
        "lastSeen": _render(retained["lastSeen"]),
    }
    if stats_period:
        lifetime["stats"] = None
    return {
        **issue,
        "count": str(windowed["count"]),
        "userCount": windowed["userCount"],
        "firstSeen": _render(windowed["firstSeen"]),
        "lastSeen": _render(windowed["lastSeen"]),
        "lifetime": lifetime,
        # Null when the query has no Snuba-side condition: every term the emulator understands
        # (is:, lastSeen:, firstSeen:/age:) is in SKIP_SNUBA_FIELDS or skipped by the serializer.
        "filtered": None,
    }


def _render(epoch_second: Optional[int]) -> Optional[str]:
    if epoch_second is None:
        return None
    return format_datetime(datetime.fromtimestamp(epoch_second, timezone.utc))

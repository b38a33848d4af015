"""The project selection, fetched once per read and shared by every project stream.

Why Python: the declarative SubstreamPartitionRouter reads its parent stream once per child stream,
so project_detail, events, issues, project_keys and environments each fetched the selection again
(each configured slug by itself, or the organization's project list). The CDK's way to share a
parent's pages is its requests cache, which this connector turns off for the selection: the cache
stores a 200 before the error handler rejects its body, so a retry read the broken body back
instead of reaching Sentry (manifest.yaml, no_parent_cache). The manifest cannot say "read this
parent once and hand its records to several streams"; `SharedProjectSelection`, a
CustomPartitionRouter, wraps the declarative router (kept as it is: the ReadableProjects filter, a
404 for an unknown slug, the error handler) and shares what it yields.

Scope: one read. The result is kept per normalized config object: the CDK builds every component
of a source from the one dict its constructor makes (ConcurrentDeclarativeSource
_migrate_and_transform_config copies the config it is given), so all streams of one read see the
same object, and two sources never share one, even with equal configs (tests run many reads in one
process, against changing data). SourceSentry ends the scope when its read or check ends
(`end_scope`); a scope holds its config, so the object's id cannot be reused while the entry lives,
and at most SCOPES_KEPT scopes are kept for callers that never end theirs (a dropped scope only
costs a second fetch).
"""
from __future__ import annotations

import copy
import json
import logging
import math
import threading
from collections import OrderedDict
from dataclasses import InitVar, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional

from airbyte_cdk.sources.declarative.partition_routers.partition_router import PartitionRouter
from airbyte_cdk.sources.types import Config, StreamSlice, StreamState

from source_sentry.parse_once import parsed_body
from source_sentry.rate_limits import SentryRateLimits

logger = logging.getLogger("airbyte")

SCOPES_KEPT = 16


class _Scope:
    """What one read shares: the selection's slices, or the error that ended its fetch."""

    def __init__(self, config: Config) -> None:
        self.config = config  # held: the id stays this object's while the scope lives
        self.lock = threading.Lock()
        self.slices: Optional[List[StreamSlice]] = None
        self.error: Optional[BaseException] = None
        self.saved_states: Dict[str, Mapping[str, Any]] = {}  # stream -> saved state (remember_saved_state)
        self.checks: Dict[Any, Optional[Dict[str, int]]] = {}  # (dataset, since) -> events per project id


_scopes: "OrderedDict[int, _Scope]" = OrderedDict()
_scopes_lock = threading.Lock()


def scope_of(config: Config) -> _Scope:
    with _scopes_lock:
        scope = _scopes.get(id(config))
        if scope is None or scope.config is not config:
            scope = _scopes[id(config)] = _Scope(config)
            while len(_scopes) > SCOPES_KEPT:
                _scopes.popitem(last=False)
        else:
            _scopes.move_to_end(id(config))
        return scope


def end_scope(config: Config) -> None:
    """Forgets what the read with this config shared (SourceSentry calls it when a read or check ends)."""
    with _scopes_lock:
        scope = _scopes.get(id(config))
        if scope is not None and scope.config is config:
            del _scopes[id(config)]


@dataclass
class SharedProjectSelection(PartitionRouter):
    """The slices of `router` (the declarative per-project router), computed by the first stream
    that asks and handed to the others of the same read. Streams generate their partitions in
    several threads: the first one fetches while holding the scope's lock, the others wait for it.
    A failed fetch (after the error handler's retries) fails every stream that asks, with the same
    error, without fetching again."""

    router: PartitionRouter
    config: Config
    parameters: InitVar[Mapping[str, Any]] = None

    def stream_slices(self) -> Iterable[StreamSlice]:
        scope = scope_of(self.config)
        with scope.lock:
            if scope.slices is None and scope.error is None:
                try:
                    scope.slices = list(self.router.stream_slices())
                except Exception as error:
                    scope.error = error
            if scope.error is not None:
                raise scope.error
            slices = scope.slices
        yield from slices

    def get_stream_state(self) -> Optional[Mapping[str, StreamState]]:
        return self.router.get_stream_state()

    def get_request_params(self, *, stream_state=None, stream_slice=None, next_page_token=None) -> Mapping[str, Any]:
        return self.router.get_request_params(stream_state=stream_state, stream_slice=stream_slice, next_page_token=next_page_token)

    def get_request_headers(self, *, stream_state=None, stream_slice=None, next_page_token=None) -> Mapping[str, Any]:
        return self.router.get_request_headers(stream_state=stream_state, stream_slice=stream_slice, next_page_token=next_page_token)

    def get_request_body_data(self, *, stream_state=None, stream_slice=None, next_page_token=None):
        return self.router.get_request_body_data(stream_state=stream_state, stream_slice=stream_slice, next_page_token=next_page_token)

    def get_request_body_json(self, *, stream_state=None, stream_slice=None, next_page_token=None) -> Mapping[str, Any]:
        return self.router.get_request_body_json(stream_state=stream_state, stream_slice=stream_slice, next_page_token=next_page_token)


# ------------------------------------------------------------------------------------------------
# A sync with nothing new: projects whose events did not change since the last sync are not read
# (the events and issues streams).
# ------------------------------------------------------------------------------------------------
#
# Why Python: deciding per project from one organization-level answer and the stream's saved
# per-project state is logic no declarative router has.
#
# What Sentry can say in one request. The project events endpoint lists the events of Snuba's
# errors dataset (src/sentry/issues/endpoints/project_events.py: eventstore.backend.get_events,
# whose `dataset` defaults to Dataset.Events, src/sentry/services/eventstore/snuba/backend.py),
# windowed on the event `timestamp`, start inclusive, end exclusive. The organization events
# endpoint reads the same dataset with `dataset=errors` (src/sentry/snuba/utils.py DATASET_OPTIONS;
# src/sentry/api/endpoints/organization_events.py) and can group it: `field=project.id&field=count()`
# with `project=-1` gives, per project, how many events have a timestamp in [since, until). Those
# counts only grow while events are stored, late ones included, so a project whose count over one
# fixed window [since, until) is the same as at the last sync has had no event stored since, at
# any timestamp in the window. The issues stream counts the errors dataset and issuePlatform (the
# occurrences of performance and other non-error issues, which the organization issues search
# lists too): an issue comes back into the stream's lastSeen window only through a new event or
# occurrence of its own. (stats_v2 counts outcomes in Snuba's outcomes entity, whose time column is
# the outcome's, not the event's timestamp the events endpoint windows on (not verified further in
# Relay), and it has no daily series when grouped by project. The issues endpoint's lastSeen query
# is per issue, one page per 100 issues seen since the oldest cursor: not a handful.)
#
# The rule, for a project P whose saved cursor is S_P (the stream's next request reads [S_P, now]):
# P is skipped only if the saved state has a cursor for P, the last sync's count for P over the same
# `since` is known, and today's count over [since, until) equals it. The window need not reach back
# to S_P (a project quiet for longer than the window): Relay gives an event whose timestamp is more
# than 30 days before its arrival the arrival time instead (relay-config default_max_secs_in_past,
# 30 days; its clock-drift normalization), so an event stored after the last sync's count, which
# came at least 60 days after `since`, has a timestamp inside [since, now] and is counted. (A
# self-hosted Relay configured to keep timestamps more than 60 days old would break that.) Anything else reads P: no saved state (a project that joins
# later reads its whole history), a window reset, a check that failed or whose answer is incomplete
# (the organization lacks Sentry's global-views feature: 400 "You cannot view events from multiple
# projects."). `until` is the check's own start, before the stream's window end (the CDK evaluates
# it when it slices each partition, after the check): an event between the two is not in today's
# count, so the next sync sees the count grow and reads P again; it is never lost. The counts are
# the router's state (the CDK keeps a partition router's get_stream_state under the stream's
# `parent_state`, committing the value sampled after a partition only once every partition
# generated before it is closed): a project's new count joins that state only as its partition is
# handed out, or at once when it is skipped, so a project whose read failed keeps its old count and
# is read again. A skipped project yields no partition: the CDK's ConcurrentPerPartitionCursor keeps
# the saved cursor of partitions it does not see (its `state` lists every cursor it loaded).
# Limits: a deletion and an arrival between two syncs that leave a project's count unchanged hide
# the arrival (Sentry deletes events with their issue or by a data deletion request).

ACTIVITY_KEY = "project_activity"
ACTIVITY_SINCE = timedelta(days=60)  # a new window starts this long ago, at midnight UTC
ACTIVITY_KEPT_UNTIL = timedelta(days=88)  # ...and is kept while inside Sentry's 90-day retention
ACTIVITY_PAGES = 100  # pages of 100 projects at most (and fewer rows than the offset cap: see _fetch_counts)


def remember_saved_state(config: Config, stream: str, state: Mapping[str, Any]) -> None:
    """The stream's saved state, as its state migration hands it to the cursor (state.py)."""
    scope = scope_of(config)
    with scope.lock:
        scope.saved_states[stream] = state


@dataclass
class SkipUnchangedProjects(SharedProjectSelection):
    """The shared selection without the projects whose events did not change since the last sync
    (see above). `requester` sends the organization events check."""

    requester: Any = None
    stream_name: str = ""
    # What the stream reads, as Snuba datasets: events, the errors dataset; issues, the errors of
    # error issues and the occurrences of the other issue types (issuePlatform: performance, cron,
    # uptime... issues, src/sentry/issues/grouptype.py), whose search lists both.
    datasets: Optional[List[str]] = None
    # Large projects' first syncs in parts: the events stream only (its requests are clamped to a part).
    parts: bool = True
    # The project endpoint the stream reads (events/): its partitions are handed over one at a time
    # as that endpoint takes requests (see hand_over below).
    hand_over_endpoint: Optional[str] = None

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._state: Optional[Dict[str, Any]] = None
        self._lock = threading.Lock()

    def stream_slices(self) -> Iterable[StreamSlice]:
        slices = list(super().stream_slices())
        scope = scope_of(self.config)
        with scope.lock:
            saved = scope.saved_states.get(self.stream_name) or {}
        previous = (saved.get("parent_state") or {}).get(ACTIVITY_KEY) or {}
        cursors = _saved_cursors(saved)
        parts = _saved_parts(saved)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        since = _window_start(previous, now)
        counts = self._counts(scope, since, now) if slices else None
        known = dict(previous.get("counts") or {}) if previous.get("since") == since else {}
        parts_done = {key: list(value) for key, value in (previous.get("parts_done") or {}).items()}
        state = {"since": since, "until": _iso(now), "counts": known, "parts_done": parts_done}
        with self._lock:
            self._state = state if counts is not None else {**previous, "parts_done": parts_done}
        part_size = int(self.config.get("events_part_size") or PART_SIZE)
        origin = _origin(self.config, now) if self.parts else None
        skipped = split = 0
        hand_over = self._hand_over()
        for stream_slice in slices:
            project_id = str(stream_slice.extra_fields.get("id"))
            new = counts.get(project_id, 0) if counts is not None else None
            project_key = _partition_key(stream_slice.partition)
            saved_parts = parts.get(project_key, [])
            cursor = cursors.get(project_key)
            todo: List[StreamSlice] = [stream_slice]
            if self.parts and (saved_parts or (cursor is None and new is not None and origin is not None)):
                estimate = _estimate(new, since, now, origin) if new is not None and origin is not None else 0
                todo, cursor = _parts_to_read(stream_slice, saved_parts, set(parts_done.get(project_key, [])), estimate, part_size, origin, now)
                split += len(todo) > 1
            if counts is not None:
                if len(todo) <= 1 and cursor is not None and known.get(project_id) == new:
                    skipped += 1
                    continue  # its count is kept as it was (equal)
            for index, part in enumerate(todo):
                hand_over(part)
                with self._lock:
                    if counts is not None and index == len(todo) - 1:  # with the project's last partition
                        state["counts"] = {**state["counts"], project_id: new}
                    if "part" in part.partition:  # committed by the CDK once this part and all before it are read
                        done = state["parts_done"].get(project_key, [])
                        state["parts_done"] = {**state["parts_done"], project_key: sorted(set(done) | {part.partition["part"]})}
                yield part
        if counts is not None:
            logger.info(f"Stream '{self.stream_name}': {skipped} of {len(slices)} projects have no new events since the last sync "
                        f"({' + '.join(self.datasets or ['errors'])}), "
                        f"by one organization-level count over [{since}, {_iso(now)}): they are not read."
                        + (f" {split} large projects are read in parts." if split else ""))

    def get_stream_state(self) -> Optional[Mapping[str, StreamState]]:
        with self._lock:
            return {ACTIVITY_KEY: copy.deepcopy(self._state)} if self._state else {}

    def _hand_over(self) -> Callable[[StreamSlice], None]:
        """Waits, before each partition, until the requests of those handed over before have started
        and none waits for the endpoint. Why: the CDK's workers take partitions first in, first
        out, and a partition of an endpoint that allows one request at a time, 60 a minute (project
        events), holds its worker while it waits. Handed all at once, the events partitions of 200
        projects queued before the issues partitions, which then ran only after the last event:
        bench scenario 8 took 1.23x the bound the events limit sets. Handed over one at a time,
        the other streams' partitions run while events wait. Only with Sentry's pacing
        (rate_limits.py) as the requester's budget; otherwise partitions go at once."""
        budget = getattr(self.requester, "api_budget", None)
        if not self.hand_over_endpoint or not isinstance(budget, SentryRateLimits):
            return lambda part: None
        started: List[Optional[int]] = []

        def wait_for_turn(part: StreamSlice) -> None:
            url = f"{self.config['api_base']}/projects/{self.config['organization']}/{part.partition['project']}/{self.hand_over_endpoint}"
            # the CDK holds one partition back (to know the last: iterate_with_last_flag_and_state),
            # so the one handed over before the previous one is the one whose request must start
            if len(started) >= 2 and started[-2] is not None:
                budget.wait_for_hand_over(url, started[-2])
            started.append(budget.requests_started(url))

        return wait_for_turn

    def _counts(self, scope: _Scope, since: str, until: datetime) -> Optional[Dict[str, int]]:
        """Events per project id over [since, until), summed over the stream's datasets, one answer
        per read, dataset and window (shared by the streams that ask for the same one); None when
        Sentry could not say."""
        total: Dict[str, int] = {}
        for dataset in self.datasets or ["errors"]:
            key = (dataset, since)
            with scope.lock:
                if key not in scope.checks:
                    scope.checks[key] = self._fetch_counts(dataset, since, until)
                counts = scope.checks[key]
            if counts is None:
                return None
            for project_id, count in counts.items():
                total[project_id] = total.get(project_id, 0) + count
        return total

    def _fetch_counts(self, dataset: str, since: str, until: datetime) -> Optional[Dict[str, int]]:
        params = {"dataset": dataset, "field": ["project.id", "count()"], "project": "-1", "sort": "project.id",
                  "start": since, "end": _iso(until), "per_page": "100"}
        counts: Dict[str, int] = {}
        try:
            for _ in range(ACTIVITY_PAGES):
                response = self.requester.send_request(request_params=params)
                body = parsed_body(response) if response is not None else None
                rows = body.get("data") if isinstance(body, dict) else None
                if not isinstance(rows, list):
                    raise ValueError(f"no data in the answer: {str(body)[:200]}")
                for row in rows:
                    counts[str(row["project.id"])] = int(row["count()"])
                if len(counts) >= int(self.config.get("explore_offset_cap") or 10_000):
                    # Sentry serves about 10,000 rows of a query through offset pages (README, Explore):
                    # projects past them would look like projects without events
                    raise ValueError(f"{len(counts)} projects with events, as many rows as Sentry pages through")
                following = response.links.get("next") or {}
                if following.get("results") != "true":
                    return counts
                params = {**params, "cursor": following["cursor"]}
            raise ValueError(f"more than {ACTIVITY_PAGES} pages of projects")
        except Exception as error:  # any doubt: every project is read
            message = getattr(error, "message", None) or str(error)
            logger.warning(f"Stream '{self.stream_name}': could not count the organization's events per project "
                           f"(dataset {dataset}: {message}): every project is read.")
            return None


# ------------------------------------------------------------------------------------------------
# A first sync of a huge project resumes near where it stopped.
# ------------------------------------------------------------------------------------------------
#
# The events window of a project is one slice (the windowed cursor's P91D step spans Sentry's
# retention), read newest first: its state advances only when the slice is done. The cursor's step
# is evaluated with the config alone (the CDK builds it once per stream), so it cannot depend on a
# project's volume. Instead a project without saved state whose estimated volume in the window is
# above `events_part_size` (default PART_SIZE, about 15-20 minutes at Sentry's 60 requests a minute
# of 100 events) is read as several partitions, each a part of its history: [b0, b1), [b1, b2)...,
# equal spans of time, the oldest open below, the newest open above. Each part is its own partition
# (key: "part": "b_i/b_i+1"), with its own cursor and state; the manifest clamps the requests of a
# part to its bounds (extra_fields part_start, part_end). A part's state exists only once its slice
# is read to the end, so after an interruption the rerun finds the finished parts in the saved
# state and reads the others: what it reads again is at most the parts that were being read. The
# bounds live in the partition keys, so they are saved with each part's own state in one message
# (a router state in `parent_state` could lag behind the parts' states). Unfinished ranges are
# split again by the same rule. Once every part is done, the newest (open above) part is the
# project's partition for later syncs, and the others are never read again.
# The volume is estimated from the activity count above (events over [since, until), scaled to the
# window): no extra request. Sentry's stats_v2 grouped by project gives totals, not daily series.
# Parts are only cut where the whole window is one step of the windowed cursor (Sentry's 90 days).

PART_SIZE = 100_000
ONE_STEP = timedelta(days=91)


def _origin(config: Config, now: datetime) -> Optional[datetime]:
    """The start of the events window (the windowed cursor's start), or None when it spans more
    than one step of the cursor (a longer self-hosted history is not cut in parts)."""
    start = _parse(config.get("start_datetime")) if config.get("start_datetime") else now - timedelta(days=90)
    return start if start is not None and start >= now - ONE_STEP else None


def _estimate(count: int, since: str, until: datetime, origin: datetime) -> float:
    span = (until - _parse(since)).total_seconds()
    return count * max(0.0, (until - origin).total_seconds()) / span if span > 0 else 0.0


def _saved_parts(saved: Mapping[str, Any]) -> Dict[str, List[tuple]]:
    """Key of the project's plain partition -> its saved parts: (low, high, cursor), "" for an open end."""
    parts: Dict[str, List[tuple]] = {}
    for entry in saved.get("states") or []:
        partition = dict(entry.get("partition") or {})
        bounds = partition.pop("part", None)
        if not isinstance(bounds, str) or "/" not in bounds:
            continue
        low, high = bounds.split("/", 1)
        values = [v for v in (entry.get("cursor") or {}).values() if isinstance(v, str)]
        parts.setdefault(_partition_key(partition), []).append((low, high, values[0] if values else None))
    return parts


def _parts_to_read(stream_slice: StreamSlice, saved_parts: List[tuple], done_keys: set, estimate: float, part_size: int,
                   origin: Optional[datetime], now: datetime) -> tuple:
    """The partitions to read for one project, and the cursor of its newest part (None: not done).
    Done parts are not read again, except the newest (open above), read by every sync; the ranges
    no done part covers are cut in parts (or read whole when small). A part is done when the CDK
    committed the router state listing it (`done_keys`: every partition handed out up to it was read),
    or when its saved cursor lies inside it: a cursor moves past the window's start only when a
    slice is read to its end, and a part is one slice (a part not started yet saves the window's
    start as its cursor, an empty part read to its end too, so neither says it is done)."""
    def is_done(low: str, high: str, cursor: Optional[str]) -> bool:
        return cursor is not None and (f"{low}/{high}" in done_keys or (low != "" and cursor[:19] >= low[:19]))

    # ranges [low, high) as strings, "" below everything and "~" above (ISO times sort as strings)
    done = sorted((low, high or "~") for low, high, cursor in saved_parts if is_done(low, high, cursor))
    newest_cursor = next((cursor for low, high, cursor in saved_parts if high == "" and is_done(low, high, cursor)), None)
    gaps, covered = [], ""
    for low, high in done:
        if low > covered:
            gaps.append((covered, low))
        covered = max(covered, high)
    if covered < "~":
        gaps.append((covered, ""))
    todo = []
    for gap_low, gap_high in gaps:
        if not done and estimate <= part_size:
            return [stream_slice], None  # a project read in one partition, as before
        lower = _parse(gap_low) if gap_low else origin or now - timedelta(days=90)
        upper = _parse(gap_high) if gap_high else now
        pieces = max(1, math.ceil(estimate * (upper - lower).total_seconds() / max(1.0, (now - (origin or lower)).total_seconds()) / part_size))
        step = (upper - lower) / pieces
        bounds = [gap_low] + [_iso(lower + step * i) for i in range(1, pieces)] + [gap_high]
        todo += [_part(stream_slice, bounds[i], bounds[i + 1]) for i in range(pieces)]
    newest = [_part(stream_slice, low, "") for low, high in done if high == "~"]
    # older parts first, the newest last (the project's activity count is committed with it)
    todo.sort(key=lambda part: part.partition["part"].split("/")[1] or "~")
    return todo + newest, newest_cursor


def _part(stream_slice: StreamSlice, low: str, high: str) -> StreamSlice:
    return StreamSlice(partition={**stream_slice.partition, "part": f"{low}/{high}"}, cursor_slice={},
                       extra_fields={**stream_slice.extra_fields, "part_start": low or None, "part_end": high or None})


def _window_start(previous: Mapping[str, Any], now: datetime) -> str:
    since = previous.get("since")
    if isinstance(since, str) and _parse(since) is not None and _parse(since) >= now - ACTIVITY_KEPT_UNTIL:
        return since
    return _iso((now - ACTIVITY_SINCE).replace(hour=0, minute=0, second=0))


def _saved_cursors(saved: Mapping[str, Any]) -> Dict[str, str]:
    """Partition key -> the saved cursor (as an ISO string to the second), per project."""
    cursors = {}
    if saved.get("use_global_cursor"):
        return cursors
    for entry in saved.get("states") or []:
        values = [v for v in (entry.get("cursor") or {}).values() if isinstance(v, str)]
        moment = _parse(values[0]) if len(values) == 1 else None
        if moment is not None:
            cursors[_partition_key(entry.get("partition") or {})] = _iso(moment)
    return cursors


def _partition_key(partition: Mapping[str, Any]) -> str:
    return json.dumps(partition, sort_keys=True, default=str)


def _parse(value: Any) -> Optional[datetime]:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

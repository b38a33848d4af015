"""Custom record components, each for what the declarative language cannot do (or not at a cost
that fits): de-duplication of records repeated by a shifting listing, with an optional check that
a record lies in its slice's window; skipping, with a warning, projects the token cannot read;
keeping top-level nulls in the emitted records; and the issues' window figures and totals
(IssueWindowAndTotals: what eight AddFields did at a Jinja render each per record).

DeduplicateRecords. Why Python: Sentry pages most lists with offset cursors, so a record that
arrives while a listing is paged shifts it (an event stored late with a timestamp inside the pinned
window, a new release): the last records of a page come back at the top of the next one. The
declarative language has no record filter with memory. Builder users, who cannot load custom
components, may see such a repeat (destinations that de-duplicate on the primary key remove it).
Its window check (``window_field``) drops records the server should not have sent: Sentry before
25.8.0 ignores the events endpoint's start/end, and before 21.6.0 the releases endpoint applies them
to another date (sentry_emulator/server/versions.py). The same check as a declarative ``condition``
costs a Jinja evaluation per record: 87 us each, 1.7 CPU-s on 20,000 events (measured on the dev
machine), more than half of what the whole events read costs; here it is a string comparison. The
Builder edition gets the equivalent condition (scripts/build_builder_manifest.py).
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from dataclasses import InitVar, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Deque, Dict, FrozenSet, Iterable, Mapping, Optional, Union

import orjson
from airbyte_cdk.sources.declarative.extractors.record_filter import RecordFilter
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString
from airbyte_cdk.sources.declarative.interpolation.macros import format_datetime, str_to_datetime
from airbyte_cdk.sources.declarative.transformations import RecordTransformation
from airbyte_cdk.sources.types import Config, StreamSlice, StreamState

logger = logging.getLogger("airbyte")

# A shift repeats records of the page just before; the ids of a few pages are remembered per slice,
# so memory stays flat however many records a sync reads (up to 300 arrivals between two pages).
PAGES_REMEMBERED = 3
# Slices being read at once are at most the worker count (20); older ones are forgotten.
SLICES_REMEMBERED = 64


@dataclass
class DeduplicateRecords(RecordFilter):
    """Drops a record whose id the same slice emitted on one of its previous pages; applies the
    optional `condition` like a plain RecordFilter. Records without an id pass.

    `pages_remembered` (interpolated with the stream's parameters; default PAGES_REMEMBERED): how many
    earlier pages of a slice are remembered. Explore streams remember every page since a pagination
    reset, whose first page repeats the rows of the instant it restarts at."""

    pages_remembered: Union[int, str] = PAGES_REMEMBERED

    # The record's cursor field, kept within its slice's [start_time, end_time] (whole seconds,
    # both inclusive, as the slices are); None: no window check. May name a parameter
    # ("{{ parameters.cursor_field }}").
    window_field: Optional[str] = None
    _pages: "OrderedDict[str, Deque[FrozenSet[str]]]" = field(default_factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self._parameters = parameters
        if self.window_field:
            self.window_field = InterpolatedString.create(self.window_field, parameters=parameters or {}).eval(self.config)

    def filter_records(
        self,
        records: Iterable[Mapping[str, Any]],
        stream_state: StreamState,
        stream_slice: Optional[StreamSlice] = None,
        next_page_token: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Mapping[str, Any]]:
        if self.condition:
            records = super().filter_records(records, stream_state, stream_slice, next_page_token)
        remembered = self._remembered()
        if self.window_field and stream_slice is not None and stream_slice.cursor_slice:
            records = in_window(records, self.window_field, stream_slice.cursor_slice, stream_slice.extra_fields)
        key = repr((sorted(stream_slice.partition.items()), sorted(stream_slice.cursor_slice.items()))) if stream_slice else ""
        with self._lock:
            previous = self._pages.get(key)
            if previous is None:
                previous = self._pages[key] = deque(maxlen=remembered)
                if len(self._pages) > SLICES_REMEMBERED:
                    self._pages.popitem(last=False)
            else:
                self._pages.move_to_end(key)
            seen = frozenset().union(*previous)
        page = set()
        for record in records:
            record_id = record.get("id")
            if record_id is None:
                yield record
                continue
            record_id = str(record_id)
            if record_id in seen or record_id in page:
                continue
            page.add(record_id)
            yield record
        with self._lock:
            previous.append(frozenset(page))

    def _remembered(self) -> int:
        if isinstance(self.pages_remembered, int):
            return self.pages_remembered
        count = int(InterpolatedString.create(self.pages_remembered, parameters=self._parameters).eval(self.config))
        self.pages_remembered = count
        return count


def in_window(records: Iterable[Mapping[str, Any]], field_name: str, cursor_slice: Mapping[str, Any],
              extra_fields: Optional[Mapping[str, Any]] = None) -> Iterable[Mapping[str, Any]]:
    """The records whose ``field_name`` lies in the slice's [start_time, end_time], to the second,
    and in the partition's part [part_start, part_end) if it is one (source_sentry/projects.py)."""
    start, end = second_of(cursor_slice["start_time"]), second_of(cursor_slice["end_time"])
    part_start, part_end = (extra_fields or {}).get("part_start"), (extra_fields or {}).get("part_end")
    if part_start:
        start = max(start, second_of(part_start))
    below = second_of(part_end) if part_end else None
    for record in records:
        value = record.get(field_name)
        if value is not None and start <= second_of(value) <= end and (below is None or second_of(value) < below):
            yield record


def second_of(value: Any) -> str:
    """An ISO 8601 UTC timestamp cut to its second ("2024-05-01T12:00:00"): such strings order as
    the instants do. Sentry writes UTC with "Z"; any other offset is converted first."""
    text = str(value)
    if len(text) >= 19 and (text.endswith("Z") or len(text) == 19):
        return text[:19]
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


@dataclass
class ReadableProjects(DeduplicateRecords):
    """The organization's projects that the token's user can read; the others are named in a warning.

    Why Python: Sentry lists every project of the organization to a user, with ``hasAccess: false``
    on those they can neither access through a team nor through Open Membership or a global role
    (src/sentry/api/serializers/models/project.py get_access_by_project), and every endpoint of such
    a project answers 403 (src/sentry/api/bases/project.py ProjectPermission). A whole-organization
    sync skips them, but never silently: the declarative language cannot log. Each project is named
    once per process (several streams read this list). A project configured by slug is fetched by
    itself, and a 403 then fails the sync naming it.
    """

    def filter_records(
        self,
        records: Iterable[Mapping[str, Any]],
        stream_state: StreamState,
        stream_slice: Optional[StreamSlice] = None,
        next_page_token: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Mapping[str, Any]]:
        readable, unreadable = [], []
        for record in super().filter_records(records, stream_state, stream_slice, next_page_token):
            (unreadable if record.get("hasAccess") is False else readable).append(record)
        slugs = [str(record.get("slug")) for record in unreadable]
        with _warned_lock:
            new = [slug for slug in slugs if slug not in _warned_projects]
            _warned_projects.update(new)
        if new:
            names = ", ".join(f"'{slug}'" for slug in slugs)
            logger.warning(
                f"Skipping {len(slugs)} project{'s' if len(slugs) > 1 else ''} the auth token's user cannot read: {names} "
                f"(not a member of {'their teams' if len(slugs) > 1 else 'its teams'}, and the organization does not have "
                f"Open Membership). Add the user to a team of each project to sync {'them' if len(slugs) > 1 else 'it'}."
            )
        return readable


_warned_projects: set = set()
_warned_lock = threading.Lock()


# What orjson writes for a null. The CDK serializes messages with serpyco-rs' omit_none, which
# drops a record's top-level None values; an orjson Fragment is not None, passes through as is, and
# orjson writes it verbatim.
NULL = orjson.Fragment(b"null")


@dataclass
class KeepTopLevelNulls(RecordTransformation):
    """Top-level fields Sentry sends as null stay in the emitted record as null.

    Why Python: the CDK writes each message with AirbyteMessageSerializer (serpyco-rs, omit_none=True),
    which leaves out every top-level key of a record whose value is None (nested nulls stay), so a
    destination could not tell "null" from "not sent" (releases.dateReleased, projects.firstEvent,
    members.user...). The declarative language cannot express a value that survives that step, and
    the serializer is the CDK's own (a module-level object of airbyte_cdk.models, used by
    AirbyteEntrypoint's static airbyte_message_to_string): this transformation, the last of every
    stream, replaces a top-level None by an orjson Fragment holding "null", which the serializer
    keeps and orjson writes as null (serpyco-rs passes values typed Any through as they are;
    orjson.Fragment is public since orjson 3.9, the CDK requires >= 3.10.7). Every writer of the
    messages gets the null: the `source-sentry` command, the CDK's entrypoint and test helpers,
    PyAirbyte and the platform (they read the command's output). Python code that calls
    SourceSentry.read() itself sees the Fragment object where the value is null. Records read in
    the Connector Builder (no custom components) lose their top-level nulls.
    """

    parameters: InitVar[Mapping[str, Any]] = None

    def transform(
        self,
        record: Dict[str, Any],
        config: Optional[Config] = None,
        stream_state: Optional[StreamState] = None,
        stream_slice: Optional[StreamSlice] = None,
    ) -> None:
        for key, value in record.items():
            if value is None:
                record[key] = NULL


# The issues stream's window figures and totals, as the eight AddFields of the declarative edition
# would set them (scripts/build_builder_manifest.py writes those for the Connector Builder).
ISSUE_WINDOW_COPIES = (("windowCount", "count", str), ("windowUserCount", "userCount", int), ("windowFirstSeen", "firstSeen", str))
ISSUE_LIFETIME_TOTALS = (("count", str), ("userCount", int), ("firstSeen", str))


@dataclass
class IssueWindowAndTotals(RecordTransformation):
    """An issue's window figures kept as window* and its all-time totals moved to the top: windowStart
    and windowEnd (the request's window, [start, end + 1 s) as window_parameters sends it), then
    windowCount, windowUserCount, windowFirstSeen copied from the top-level count, userCount and
    firstSeen (Sentry computes them over the request's window), then count, userCount and firstSeen
    taken from `lifetime` (the issue's totals; see the issues stream in the manifest).

    Why Python: the same as eight AddFields, each rendering a Jinja template per record, cost about
    as much CPU as everything else the connector does per issue (bench/profile_ours.py --stream
    issues); here they are dictionary copies, and windowEnd is computed once per slice. Values are
    typed as the AddFields' value_type would type them (count and firstSeen strings, userCount an
    integer); a null value stays null (the Jinja edition would write the text "None"). An issue without
    `lifetime` fails the read, as it did the AddFields (there with a Jinja error).
    """

    parameters: InitVar[Mapping[str, Any]] = None
    _window_ends: Dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def transform(
        self,
        record: Dict[str, Any],
        config: Optional[Config] = None,
        stream_state: Optional[StreamState] = None,
        stream_slice: Optional[StreamSlice] = None,
    ) -> None:
        start = stream_slice.get("start_time") if stream_slice is not None else None
        end = stream_slice.get("end_time") if stream_slice is not None else None
        record["windowStart"] = start
        record["windowEnd"] = self._window_end(end) if end is not None else None
        for target, source, kind in ISSUE_WINDOW_COPIES:
            record[target] = _typed(record.get(source), kind)
        lifetime = record.get("lifetime")
        if not isinstance(lifetime, Mapping):
            # Sentry before dynamic issue counts sent none (group_stream.py, `if
            # self.has_dynamic_issue_counts:`); the AddFields failed on it too, with a Jinja error
            raise ValueError(f"Sentry sent issue {record.get('id')} without its all-time totals (`lifetime`), which the issues "
                             f"stream needs for count, userCount and firstSeen: this Sentry is too old for the issues stream.")
        for name, kind in ISSUE_LIFETIME_TOTALS:
            record[name] = _typed(lifetime.get(name), kind)

    def _window_end(self, end_time: str) -> str:
        """The request's exclusive window end: the slice's inclusive end plus one second."""
        window_end = self._window_ends.get(end_time)
        if window_end is None:
            window_end = format_datetime(str_to_datetime(end_time) + timedelta(seconds=1), "%Y-%m-%dT%H:%M:%SZ")
            if len(self._window_ends) > SLICES_REMEMBERED:
                self._window_ends.clear()
            self._window_ends[end_time] = window_end
        return window_end


def _typed(value: Any, kind: type) -> Any:
    """`value` as AddFields' value_type `kind` gives it: text, or an integer where the text is one."""
    if value is None:
        return None
    if kind is str:
        return value if isinstance(value, str) else str(value)
    if isinstance(value, int):
        return value
    try:
        return int(str(value))
    except ValueError:
        return str(value)

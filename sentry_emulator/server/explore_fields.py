"""What the Explore endpoint knows of each dataset: its rows, its fields' types and units, its
functions, and how a field string resolves.

Sources (getsentry/sentry):
- dataset names: src/sentry/snuba/utils.py DATASET_OPTIONS (the 400 lists every key);
- EAP datasets (spans, logs): src/sentry/search/eap/resolver.py SearchResolver.resolve_attribute (a
  name it does not know is a string attribute, ``tags[name,number]`` a typed one; more than 200
  characters is refused), resolve_function ("Unknown function {name}", the argument-type message);
- discover datasets (errors, transactions): src/sentry/search/events/builder/discover.py
  parse_function ("{name} is not a valid function"), resolve_field ("Invalid characters in field
  {field}"; any other name is a tag);
- types and units of meta: src/sentry/api/bases/organization_events.py get_unit_and_type
  (durations are type "duration" with their unit, sizes type "size" with theirs).
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..dataset import Dataset, Record
from ..dataset.helpers import parse_datetime

# src/sentry/snuba/utils.py DATASET_OPTIONS, in its order (the 400's text lists them so).
DATASET_OPTIONS = (
    "discover", "errors", "metricsEnhanced", "metrics", "ourlogs", "logs", "uptime_results", "profiles",
    "issuePlatform", "profileFunctions", "profile_functions", "spans", "spansIndexed", "spansMetrics",
    "tracemetrics", "transactions",
)
EAP_DATASETS = {"spans", "logs", "ourlogs"}
DISCOVER_DATASETS = {"errors", "transactions", "discover"}
# DATASET_LABELS: ourlogs (a deprecated alias) is reported as logs.
DATASET_LABEL = {"ourlogs": "logs"}

TypeUnit = Tuple[str, Optional[str]]
MS: TypeUnit = ("duration", "millisecond")
STRING: TypeUnit = ("string", None)
INTEGER: TypeUnit = ("integer", None)
NUMBER: TypeUnit = ("number", None)
BOOLEAN: TypeUnit = ("boolean", None)
DATE: TypeUnit = ("date", None)
BYTES: TypeUnit = ("size", "byte")

# The fields each dataset knows (public name -> type, unit). EAP timestamps are of search type
# "string" (src/sentry/search/eap/columns.py); discover's are "date" (test_raw_data).
SPAN_FIELDS: Dict[str, TypeUnit] = {
    "id": STRING, "span_id": STRING, "parent_span": STRING, "trace": STRING, "timestamp": STRING,
    "precise.start_ts": NUMBER, "precise.finish_ts": NUMBER, "span.op": STRING, "span.description": STRING,
    "span.duration": MS, "span.self_time": MS, "span.status": STRING, "is_transaction": BOOLEAN,
    "transaction": STRING, "project": STRING, "project.id": INTEGER, "project.name": STRING,
    "environment": STRING, "release": STRING, "cache.hit": BOOLEAN, "http.response_content_length": BYTES,
}
LOG_FIELDS: Dict[str, TypeUnit] = {
    "id": STRING, "sentry.item_id": STRING, "timestamp": STRING, "timestamp_precise": NUMBER,
    "observed_timestamp": STRING, "message": STRING, "severity": STRING, "severity_number": INTEGER,
    "trace": STRING, "service": STRING, "project": STRING, "project.id": INTEGER, "environment": STRING,
    "release": STRING, "payload_size": BYTES,
}
# Deprecated log aliases still accepted (src/sentry/search/eap/ourlogs/attributes.py).
LOG_ALIASES = {"log.body": "message", "log.severity_text": "severity", "severity_text": "severity",
               "log.severity_number": "severity_number"}
TRANSACTION_FIELDS: Dict[str, TypeUnit] = {
    "id": STRING, "timestamp": DATE, "transaction": STRING, "transaction.op": STRING,
    "transaction.duration": MS, "transaction.status": STRING, "project": STRING, "project.id": INTEGER,
    "project.name": STRING, "environment": STRING, "release": STRING, "trace": STRING, "http.method": STRING,
    "measurements.lcp": MS,
}
ERROR_FIELDS: Dict[str, TypeUnit] = {
    "id": STRING, "timestamp": DATE, "title": STRING, "message": STRING, "level": STRING, "culprit": STRING,
    "platform": STRING, "event.type": STRING, "project": STRING, "project.id": INTEGER, "project.name": STRING,
    "environment": STRING, "release": STRING, "issue.id": INTEGER, "user.email": STRING, "handled": STRING,
    "transaction": STRING,
}
FIELDS_BY_DATASET = {"spans": SPAN_FIELDS, "logs": LOG_FIELDS, "ourlogs": LOG_FIELDS,
                     "transactions": TRANSACTION_FIELDS, "errors": ERROR_FIELDS,
                     "discover": {**ERROR_FIELDS, **TRANSACTION_FIELDS}}
# Free text matches these fields (case-insensitive substring), per dataset.
FREE_TEXT_FIELDS = {"spans": ("span.description", "transaction"), "logs": ("message",), "ourlogs": ("message",),
                    "transactions": ("transaction",), "errors": ("title", "message", "culprit"),
                    "discover": ("title", "message", "transaction")}
NUMERIC_TYPES = {"integer", "number", "duration", "size", "percentage", "rate", "currency"}

# sentry.search.events.fields FUNCTION_PATTERN: name(args)
FUNCTION_PATTERN = re.compile(r"^(?P<function>[^\(]+)\((?P<columns>.*)\)$")
# sentry.search.events.constants VALID_FIELD_PATTERN / TAG_KEY_RE / TYPED_TAG_KEY_RE (approximately)
VALID_FIELD_PATTERN = re.compile(r"^[a-zA-Z0-9_.:-]*$")
TAG_KEY_RE = re.compile(r"^tags\[(?P<tag>.*)\]$")
TYPED_TAG_KEY_RE = re.compile(r"^tags\[(?P<tag>[^,]+),\s*(?P<type>string|number|boolean)\]$")
MAX_TAG_KEY_LENGTH = 200


class FieldError(Exception):
    """A field Sentry refuses: answered with ``status`` and ``{"detail": message}``."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Column:
    """One requested field, resolved."""

    name: str                 # as requested: the row key
    type_unit: TypeUnit
    source: Optional[str]     # the row key it reads (plain fields)
    function: Optional[str] = None
    argument: Optional[str] = None

    @property
    def is_aggregate(self) -> bool:
        return self.function is not None or self.name.startswith("equation|")


def function_alias(field: str) -> str:
    """sentry.search.events.fields get_function_alias: non-alphanumerics become '_', trimmed."""
    return re.sub(r"[^\w]", "_", field).strip("_")


def resolve_column(dataset: str, field: str) -> Column:
    known = FIELDS_BY_DATASET[dataset]
    if field.startswith("equation|"):
        # Equations are accepted and answered as numbers; the emulator does not evaluate them.
        return Column(field, NUMBER, None, function="equation")
    match = FUNCTION_PATTERN.match(field)
    if match:
        return _resolve_function(dataset, field, match.group("function").strip(), match.group("columns"))
    if dataset in ("logs", "ourlogs") and field in LOG_ALIASES:
        return Column(field, known[LOG_ALIASES[field]], LOG_ALIASES[field])
    if field in known:
        return Column(field, known[field], field)
    if dataset in EAP_DATASETS:
        if len(field) > MAX_TAG_KEY_LENGTH:
            raise FieldError(f"{field} is too long, can be a maximum of 200 characters")
        typed = TYPED_TAG_KEY_RE.match(field)
        if typed:
            kind = typed.group("type")
            return Column(field, (kind if kind != "number" else "number", None), typed.group("tag"))
        tag = TAG_KEY_RE.match(field)
        return Column(field, STRING, tag.group("tag") if tag else field)
    tag = TAG_KEY_RE.match(field)
    name = tag.group("tag") if tag else field
    if not VALID_FIELD_PATTERN.match(name):
        raise FieldError(f"Invalid characters in field {name}")
    return Column(field, STRING, name)  # an unknown tag: null on every row


_COUNTING = {"count", "count_unique"}
_NUMERIC = {"avg", "sum", "min", "max", "p50", "p75", "p90", "p95", "p99", "p100"}


def _resolve_function(dataset: str, field: str, name: str, raw_arguments: str) -> Column:
    arguments = [argument.strip() for argument in raw_arguments.split(",")] if raw_arguments.strip() else []
    if name not in _COUNTING and name not in _NUMERIC:
        if dataset in EAP_DATASETS:
            raise FieldError(f"Unknown function {name}")
        raise FieldError(f"{name} is not a valid function")
    if name == "count":
        return Column(field, INTEGER, None, function="count", argument=arguments[0] if arguments else None)
    if len(arguments) != 1:
        raise FieldError(f"Invalid number of arguments for {name}, was expecting 1 arguments")
    argument = resolve_column(dataset, arguments[0])
    if argument.is_aggregate:
        raise FieldError(f"Invalid number of arguments for {name}, was expecting 1 arguments")
    if name == "count_unique":
        return Column(field, INTEGER, None, function=name, argument=argument.source)
    if argument.type_unit[0] not in NUMERIC_TYPES:
        if dataset in EAP_DATASETS:
            # resolver.py resolve_function; Sentry prints its set of types (order not fixed): here sorted.
            raise FieldError(
                f"{argument.name} is invalid for parameter 1 in {name}. Its a {argument.type_unit[0]} type field, "
                f"but it must be one of these types: {sorted(NUMERIC_TYPES)}"
            )
        # discover: the argument must be a numeric column (text not read in Sentry: an approximation)
        raise FieldError(f"{name}({argument.name}): column argument invalid: {argument.name} is not a numeric column")
    return Column(field, argument.type_unit, None, function=name, argument=argument.source)


def aggregate(column: Column, rows: Sequence[Record]) -> Any:
    """The value of an aggregate column over one group's rows."""
    if column.function == "equation":
        return None
    if column.function == "count":
        return len(rows)
    values = [row.get(column.argument) for row in rows if row.get(column.argument) is not None]
    if column.function == "count_unique":
        return len({str(value) for value in values})
    if not values:
        return None
    if column.function == "sum":
        return sum(values)
    if column.function == "avg":
        return sum(values) / len(values)
    if column.function == "min":
        return min(values)
    if column.function == "max":
        return max(values)
    # pNN: nearest rank (the emulator's choice; Snuba's quantile is approximate)
    ordered = sorted(values)
    rank = math.ceil(int(column.function[1:]) * len(ordered) / 100)
    return ordered[max(0, min(len(ordered), rank) - 1)]


def error_rows(dataset: Dataset, cache: Dict[Any, List[Record]]) -> List[Record]:
    """The errors dataset's rows: the project events, as discover's errors entity shows them, and
    the events of issue timelines that have no event record.

    In Sentry every event of an error issue is a row of the errors dataset (the issue's times_seen
    and lastSeen are computed from them: src/sentry/api/serializers/models/group_stream.py), and
    the project events endpoint lists that same dataset (eventstore's Dataset.Events). The emulator
    keeps issue timelines (``_events``, or one derived from a hand-made issue's fields) apart from
    the event records: an issue with more events than the dataset built, or seen again through
    ``add_issue_event``, has timeline entries no event record matches. Each such entry is a row
    here (issue fields, no tags), so that counting the dataset per project sees every issue event.
    (The project events endpoint still lists the event records only.)"""
    key = ("errors", id(dataset.events), sum(len(events) for events in dataset.events.values()))
    rows = cache.get(key)
    if rows is None:
        rows = []
        ids = {str(project["id"]): project["slug"] for project in dataset.projects}
        for slug, events in dataset.events.items():
            for event in events:
                rows.append(_error_row(event, slug, ids))
        rows += _timeline_only_rows(dataset)
        rows.sort(key=lambda row: (row["_ts"], row["id"]))
        cache.clear()
        cache[key] = rows
    return rows


def _timeline_only_rows(dataset: Dataset) -> List[Record]:
    from .endpoints.issue_stats import timeline_of  # (the endpoints import this module)

    listed: Dict[Tuple[str, int], int] = {}
    for events in dataset.events.values():
        for event in events:
            if event.get("groupID"):
                second = int(parse_datetime(event["dateCreated"]).timestamp())
                listed[(str(event["groupID"]), second)] = listed.get((str(event["groupID"]), second), 0) + 1
    project_ids = {project["slug"]: int(project["id"]) for project in dataset.projects}
    rows = []
    for slug, issues in dataset.issues.items():
        for issue in issues:
            for index, (second, user) in enumerate(timeline_of(issue)):
                key = (str(issue["id"]), int(second))
                if listed.get(key):
                    listed[key] -= 1
                    continue
                moment = datetime.fromtimestamp(int(second), timezone.utc)
                rows.append({
                    "id": hashlib.md5(f"{issue['id']}:{second}:{index}".encode()).hexdigest(),
                    "timestamp": moment.isoformat(), "title": issue.get("title"), "message": issue.get("title"),
                    "level": issue.get("level"), "culprit": issue.get("culprit"), "platform": issue.get("platform"),
                    "event.type": "error", "project": slug, "project.id": project_ids.get(slug, 0), "project.name": slug,
                    "environment": None, "release": None, "issue.id": int(issue["id"]), "user.email": None,
                    "handled": None, "transaction": None,
                    "_ts": moment.timestamp(), "_project": slug, "_project_id": project_ids.get(slug, 0),
                })
    return rows


def _error_row(event: Record, slug: str, ids: Dict[str, str]) -> Record:
    tags = {tag["key"]: tag["value"] for tag in event.get("tags") or []}
    created = parse_datetime(event["dateCreated"]).replace(microsecond=0)
    project_id = int(event.get("projectID") or 0)
    user = event.get("user") or {}
    return {
        "id": event["eventID"],
        "timestamp": created.isoformat(),
        "title": event.get("title"),
        "message": event.get("message") or event.get("title"),
        "level": tags.get("level"),
        "culprit": event.get("culprit"),
        "platform": event.get("platform"),
        "event.type": event.get("type"),
        "project": slug,
        "project.id": project_id,
        "project.name": slug,
        "environment": tags.get("environment"),
        "release": tags.get("release"),
        "issue.id": int(event["groupID"]) if event.get("groupID") else None,
        "user.email": user.get("email"),
        "handled": tags.get("handled"),
        "transaction": tags.get("transaction"),
        "_ts": created.timestamp(),
        "_project": slug,
        "_project_id": project_id,
    }


def value_of(row: Record, column: Column) -> Any:
    return row.get(column.source) if column.source else None


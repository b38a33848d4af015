"""Every field Sentry's published response schema describes is declared by the stream's schema,
with a compatible type (no network).

Destinations make typed columns only for declared fields, so a field Sentry documents but the
stream does not declare is lost to them; a declared type that Sentry's values do not fit breaks
them. The walk covers nested objects and the items of arrays wherever the OpenAPI describes them.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Set

import pytest

from openapi_subset import (
    STREAM_OPERATIONS,
    item_schema,
    openapi_types,
    operation,
    operations,
    stream_schema,
)

# organization_stats rows are flattened (manifest: one row per groups[] entry, `by` and `totals`
# spread into columns): each property of a stats_v2 group maps to the columns that carry it.
STATS_GROUP_COLUMNS: Dict[str, List[str]] = {
    "by": ["category", "outcome", "project_id"],  # groupBy=category, outcome, project
    "totals": ["quantity"],  # totals["sum(quantity)"]
    # Sentry sends no series when grouping by project (interval 1d, one day per request; see
    # the manifest), and the day is the slice's `date` column.
    "series": ["date"],
}

# The events stream asks for full=true: its records are the full event (EventSerializer), which
# Sentry documents under getProjectEvent; listProjectEvents documents the summary shape.
FULL_EVENT_OPERATION = "getProjectEvent"

# JSON types a declared type list must contain for an OpenAPI type (integer fits "number" too).
COMPATIBLE = {
    "integer": {"integer", "number"},
    "number": {"number"},
    "string": {"string"},
    "boolean": {"boolean"},
    "object": {"object"},
    "array": {"array"},
}


def declared_types(schema: Mapping[str, Any]) -> Set[str]:
    types = schema.get("type")
    if types is None:
        return set()
    return set(types) if isinstance(types, list) else {types}


def type_problem(expected: Mapping[str, Any], declared: Mapping[str, Any]) -> Optional[str]:
    """Why the declared schema cannot hold every value the OpenAPI schema allows (None if it can)."""
    wanted = openapi_types(expected)
    have = declared_types(declared)
    if wanted is not None:
        for json_type in wanted:
            if json_type == "null":
                if "null" not in have:
                    return "nullable"
            elif not COMPATIBLE[json_type] & have:
                return " or ".join(sorted(wanted))
    if expected.get("format") == "date-time" and declared.get("format") != "date-time":
        return "string with format date-time"
    return None


def schema_problems(stream: str, expected: Mapping[str, Any], declared: Mapping[str, Any], path: str = "") -> List[str]:
    """Properties (recursively) the OpenAPI schema describes that the declared schema misses or mistypes."""
    problems: List[str] = []
    declared_props = declared.get("properties") or {}
    for name, sub in (expected.get("properties") or {}).items():
        here = f"{path}.{name}" if path else name
        wanted = openapi_types(sub)
        shown = " or ".join(sorted(wanted)) if wanted else "any"
        if name not in declared_props:
            problems.append(f"{stream}: {here} ({shown}) is not declared")
            continue
        mismatch = type_problem(sub, declared_props[name])
        if mismatch:
            problems.append(
                f"{stream}: {here} expected {mismatch}, declared {sorted(declared_types(declared_props[name]))}"
                f"{' ' + declared_props[name]['format'] if 'format' in declared_props[name] else ''}"
            )
        problems.extend(schema_problems(stream, sub, declared_props[name], here))
    items = expected.get("items")
    if isinstance(items, dict) and (items.get("properties") or "type" in items):
        declared_items = declared.get("items")
        if not isinstance(declared_items, dict):
            problems.append(f"{stream}: {path}[] items are not declared")
        else:
            mismatch = type_problem(items, declared_items)
            if mismatch:
                problems.append(f"{stream}: {path}[] expected {mismatch}, declared {sorted(declared_types(declared_items))}")
            problems.extend(schema_problems(stream, items, declared_items, f"{path}[]"))
    return problems


def test_every_stream_is_mapped_to_an_operation_of_the_subset() -> None:
    assert set(STREAM_OPERATIONS) == {p.stem for p in __import__("openapi_subset").SCHEMAS_DIR.glob("*.json")}
    missing = sorted(op for op in [*STREAM_OPERATIONS.values(), FULL_EVENT_OPERATION] if op not in operations())
    assert not missing, f"operations not in the OpenAPI subset: {missing}"
    assert operation("listProjectEvents")["path"] == operation(FULL_EVENT_OPERATION)["path"].replace("{event_id}/", "")


@pytest.mark.parametrize("stream", sorted(s for s in STREAM_OPERATIONS if s != "organization_stats"))
def test_given_sentrys_response_schema_when_compared_then_the_stream_declares_every_field_with_a_compatible_type(stream: str) -> None:
    problems = schema_problems(stream, item_schema(STREAM_OPERATIONS[stream]), stream_schema(stream))
    assert not problems, "\n".join([f"{len(problems)} field(s) of {STREAM_OPERATIONS[stream]}:", *problems])


def test_given_full_events_when_compared_then_every_declared_field_beyond_the_summary_is_sentrys_full_event_field() -> None:
    """Fields the events stream declares beyond listProjectEvents must be fields of the full event
    Sentry documents (getProjectEvent), with compatible types: no invented fields."""
    summary = set(item_schema("listProjectEvents")["properties"])
    full = item_schema(FULL_EVENT_OPERATION)["properties"]
    declared = stream_schema("events")["properties"]
    extra = sorted(name for name in declared if name not in summary)
    assert extra, "the full event shape adds fields to the summary"
    unknown = [name for name in extra if name not in full]
    assert not unknown, f"events declares fields Sentry documents for neither shape: {unknown}"
    problems = [
        f"events: {name} expected {mismatch}, declared {sorted(declared_types(declared[name]))}"
        for name in extra if (mismatch := type_problem(full[name], declared[name]))
    ]
    for name in extra:
        problems.extend(schema_problems("events", full[name], declared[name], name))
    assert not problems, "\n".join(problems)


def test_given_stats_v2_groups_when_flattened_then_every_group_field_maps_to_declared_columns() -> None:
    group = item_schema("listOrganizationStatsV2")["properties"]["groups"]["items"]
    assert set(group["properties"]) == set(STATS_GROUP_COLUMNS), "a stats_v2 group field is not mapped to columns"
    declared = stream_schema("organization_stats")["properties"]
    missing = sorted({column for columns in STATS_GROUP_COLUMNS.values() for column in columns} - set(declared))
    assert not missing, f"organization_stats: columns not declared: {missing}"
    by_keys = set(next(p for p in operation("listOrganizationStatsV2")["operation"]["parameters"]
                       if p["name"] == "groupBy")["schema"]["items"]["enum"])
    assert {"category", "outcome", "project"} <= by_keys

"""The emulator's ground truth against the connector's JSON schemas (no network).

Every record the emulator serves must validate against its stream's schema, carry no field the
schema does not declare, and every declared field must occur in the data (no invented fields),
except the fields Sentry sends only on requests the connector does not make or no longer sends at
all (listed, with Sentry's source, in sentry_field_facts.py).
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Set, Tuple

import jsonschema
import pytest

from harness import synced_issue
from openapi_subset import STREAM_OPERATIONS
from sentry_field_facts import CONDITIONAL, NOT_SENT_BY_CURRENT_SENTRY, covered
from sentry_emulator.dataset import (
    EVENT_SUMMARY_FIELDS,
    Dataset,
    build_dataset,
    event_summary,
    is_private_key,
    new_event,
    new_issue,
    new_release,
    parse_datetime,
)

SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "source_sentry" / "schemas"
STREAMS = [
    "events", "issues", "projects", "project_detail", "releases", "teams", "members", "project_keys",
    "environments", "release_deploys", "organization_stats",
]
NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
SENTRY_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?Z$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Paths whose value is legitimately in the future (an issue snoozed until a later date).
FUTURE_OK = {"statusDetails.ignoreUntil"}


def not_served(stream: str) -> Set[str]:
    """Declared paths the emulator, like Sentry for the connector's requests, does not send."""
    if stream == "organization_stats":
        return set()  # flattened rows: no declared path is a path of the stats_v2 body
    operations = [STREAM_OPERATIONS[stream]] + (["getProjectEvent"] if stream == "events" else [])
    paths = set(NOT_SENT_BY_CURRENT_SENTRY.get(stream, {}))
    for operation in operations:
        paths.update(CONDITIONAL.get(operation, {}))
    return paths


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------

def load_schema(stream: str) -> Dict[str, Any]:
    return json.loads((SCHEMAS_DIR / f"{stream}.json").read_text())


def served(record: Dict[str, Any]) -> Dict[str, Any]:
    """What the server sends: the emulator's private "_" keys stripped."""
    return {k: v for k, v in record.items() if not is_private_key(k)}


def stream_records(ds: Dataset, stream: str) -> List[Dict[str, Any]]:
    """The records a connector emits for the stream, built from the raw ground truth."""
    if stream == "events":
        full = [served(e) for events in ds.events.values() for e in events]
        return full + [event_summary(e) for e in full]
    if stream == "issues":  # as the connector emits them, read in one window ending now
        window = ("1970-01-01T00:00:00Z", (NOW - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
        return [synced_issue(i, window) for issues in ds.issues.values() for i in issues]
    if stream == "projects":
        return [served(p) for p in ds.projects]
    if stream == "project_detail":
        return [served(p) for p in ds.project_details.values()]
    if stream == "releases":
        return [served(r) for r in ds.releases]
    if stream == "teams":
        return [served(t) for t in ds.teams]
    if stream == "members":
        return [served(m) for m in ds.members]
    if stream == "project_keys":
        return [served(k) for keys in ds.project_keys.values() for k in keys]
    if stream == "environments":
        return [{**served(e), "project": slug} for slug, envs in ds.environments.items() for e in envs]
    if stream == "release_deploys":
        return [{**served(d), "release_version": version} for version, ds_ in ds.deploys.items() for d in ds_]
    if stream == "organization_stats":
        return [served(u) for u in ds.usage]
    raise AssertionError(stream)


def _check_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    if not SENTRY_DATETIME.match(value):
        return False
    parse_datetime(value)
    return True


def _check_date(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    if not DATE.match(value):
        return False
    datetime.strptime(value, "%Y-%m-%d")
    return True


FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
FORMAT_CHECKER.checks("date-time", raises=(ValueError,))(_check_datetime)
FORMAT_CHECKER.checks("date", raises=(ValueError,))(_check_date)


def undeclared_keys(schema: Dict[str, Any], value: Any, path: str = "") -> Iterator[str]:
    """Keys present in the value but absent from a declared object's properties (recursively)."""
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is not None:
            for key, sub in value.items():
                if key not in props:
                    yield f"{path}.{key}" if path else key
                else:
                    yield from undeclared_keys(props[key], sub, f"{path}.{key}" if path else key)
        extra = schema.get("additionalProperties")
        if props is None and isinstance(extra, dict):
            for key, sub in value.items():
                yield from undeclared_keys(extra, sub, f"{path}.*" if path else "*")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            yield from undeclared_keys(schema["items"], item, f"{path}[]")


def declared_paths(schema: Dict[str, Any], path: str = "") -> Iterator[str]:
    for key, sub in (schema.get("properties") or {}).items():
        p = f"{path}.{key}" if path else key
        yield p
        yield from declared_paths(sub, p)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        p = f"{path}.*" if path else "*"
        yield p
        yield from declared_paths(extra, p)
    if isinstance(schema.get("items"), dict):
        yield from declared_paths(schema["items"], f"{path}[]")


def observed_paths(schema: Dict[str, Any], value: Any, path: str, out: Set[str]) -> None:
    """Record every schema path the value actually carries (a key present counts, even if null)."""
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is not None:
            for key, sub in value.items():
                if key in props:
                    p = f"{path}.{key}" if path else key
                    out.add(p)
                    observed_paths(props[key], sub, p, out)
        extra = schema.get("additionalProperties")
        if props is None and isinstance(extra, dict):
            for sub in value.values():
                p = f"{path}.*" if path else "*"
                out.add(p)
                observed_paths(extra, sub, p, out)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            observed_paths(schema["items"], item, f"{path}[]", out)


def typed_values(schema: Dict[str, Any], value: Any, path: str = "") -> Iterator[Tuple[str, Dict[str, Any], Any]]:
    """(path, property schema, value) for every declared scalar the value carries."""
    if isinstance(value, dict):
        for key, sub in value.items():
            props = schema.get("properties") or {}
            if key in props:
                p = f"{path}.{key}" if path else key
                yield p, props[key], sub
                yield from typed_values(props[key], sub, p)
            elif isinstance(schema.get("additionalProperties"), dict):
                p = f"{path}.*" if path else "*"
                yield from typed_values(schema["additionalProperties"], sub, p)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            yield f"{path}[]", schema["items"], item
            yield from typed_values(schema["items"], item, f"{path}[]")


def all_property_schemas(schema: Dict[str, Any], path: str = "") -> Iterator[Tuple[str, Dict[str, Any]]]:
    for key, sub in (schema.get("properties") or {}).items():
        p = f"{path}.{key}" if path else key
        yield p, sub
        yield from all_property_schemas(sub, p)
    if isinstance(schema.get("additionalProperties"), dict):
        yield f"{path}.*", schema["additionalProperties"]
        yield from all_property_schemas(schema["additionalProperties"], f"{path}.*")
    if isinstance(schema.get("items"), dict):
        yield f"{path}[]", schema["items"]
        yield from all_property_schemas(schema["items"], f"{path}[]")


# ----------------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ds() -> Dataset:
    return build_dataset(now=NOW)


@pytest.fixture(scope="module")
def records(ds: Dataset) -> Dict[str, List[Dict[str, Any]]]:
    return {stream: stream_records(ds, stream) for stream in STREAMS}


# ----------------------------------------------------------------------------------------------
# schemas themselves
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", STREAMS)
def test_schema_is_a_non_empty_draft7_object_schema(stream: str) -> None:
    schema = load_schema(stream)
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is True
    assert len(schema["properties"]) >= 3


@pytest.mark.parametrize("stream", STREAMS)
def test_every_declared_property_is_nullable_and_objects_stay_open(stream: str) -> None:
    for path, sub in all_property_schemas(load_schema(stream)):
        types = sub.get("type")
        assert isinstance(types, list) and "null" in types, f"{stream}: {path} is not nullable: {types}"
        if "object" in types:
            assert sub.get("additionalProperties", True) is not False, f"{stream}: {path} is closed"


def test_every_stream_has_a_schema_file() -> None:
    assert sorted(p.stem for p in SCHEMAS_DIR.glob("*.json")) == sorted(STREAMS)


# ----------------------------------------------------------------------------------------------
# records against schemas
# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", STREAMS)
def test_records_validate_against_schema(stream: str, records: Dict[str, List[Dict[str, Any]]]) -> None:
    validator = jsonschema.Draft7Validator(load_schema(stream), format_checker=FORMAT_CHECKER)
    assert records[stream], f"no {stream} records"
    for record in records[stream]:
        errors = sorted(validator.iter_errors(record), key=lambda e: list(e.path))
        assert not errors, f"{stream}: {errors[0].message} at {list(errors[0].path)}"


@pytest.mark.parametrize("stream", STREAMS)
def test_schema_declares_every_served_field(stream: str, records: Dict[str, List[Dict[str, Any]]]) -> None:
    schema = load_schema(stream)
    missing: Set[str] = set()
    for record in records[stream]:
        missing.update(undeclared_keys(schema, record))
    assert not missing, f"{stream}: fields served but not declared: {sorted(missing)}"


@pytest.mark.parametrize("stream", STREAMS)
def test_every_declared_field_occurs_in_the_data(stream: str, records: Dict[str, List[Dict[str, Any]]]) -> None:
    schema = load_schema(stream)
    seen: Set[str] = set()
    for record in records[stream]:
        observed_paths(schema, record, "", seen)
    exempt = not_served(stream)
    never = {p for p in declared_paths(schema) if p not in seen and not covered(exempt, p)}
    assert not never, f"{stream}: declared but never present: {sorted(never)}"


@pytest.mark.parametrize("stream", STREAMS)
def test_fields_current_sentry_no_longer_sends_are_marked_and_absent(stream: str,
                                                                      records: Dict[str, List[Dict[str, Any]]]) -> None:
    schema = load_schema(stream)
    declared = set(declared_paths(schema))
    seen: Set[str] = set()
    for record in records[stream]:
        observed_paths(schema, record, "", seen)
    for path in NOT_SENT_BY_CURRENT_SENTRY.get(stream, {}):
        assert path in declared, f"{stream}: {path} is listed as no longer sent but not declared"
        assert path not in seen, f"{stream}: the emulator still sends {path}"
        description = dict(all_property_schemas(schema))[path].get("description", "")
        assert description.startswith("Not sent by current Sentry"), f"{stream}: {path} is not marked: {description!r}"


@pytest.mark.parametrize("stream", STREAMS)
def test_every_field_listed_as_not_served_is_declared(stream: str) -> None:
    declared = set(declared_paths(load_schema(stream)))
    stale = sorted(p for p in not_served(stream) if p not in declared)
    assert not stale, f"{stream}: sentry_field_facts lists fields the schema does not declare: {stale}"


@pytest.mark.parametrize("stream", STREAMS)
def test_datetime_strings_are_declared_as_such(stream: str, records: Dict[str, List[Dict[str, Any]]]) -> None:
    """A string property holding datetimes must carry format date-time, and only those may."""
    schema = load_schema(stream)
    bad: Set[str] = set()
    for record in records[stream]:
        for path, sub, value in typed_values(schema, record):
            if not isinstance(value, str):
                continue
            if sub.get("format") is None and SENTRY_DATETIME.match(value):
                bad.add(path)
    assert not bad, f"{stream}: datetime values without format date-time: {sorted(bad)}"


@pytest.mark.parametrize("stream", STREAMS)
def test_dates_lie_in_the_past(stream: str, records: Dict[str, List[Dict[str, Any]]]) -> None:
    schema = load_schema(stream)
    for record in records[stream]:
        for path, sub, value in typed_values(schema, record):
            if sub.get("format") == "date-time" and isinstance(value, str) and path not in FUTURE_OK:
                assert parse_datetime(value) < NOW, f"{stream}: {path}={value} is not before {NOW}"
            if sub.get("format") == "date" and isinstance(value, str):
                assert value <= NOW.date().isoformat()


# ----------------------------------------------------------------------------------------------
# shapes, identities and consistency of the ground truth
# ----------------------------------------------------------------------------------------------

def test_build_is_deterministic() -> None:
    a = build_dataset(now=NOW)
    b = build_dataset(now=NOW)
    assert a == b
    assert json.dumps(a.__dict__, sort_keys=True) == json.dumps(b.__dict__, sort_keys=True)
    assert build_dataset(now=NOW, seed=8) != a


def test_now_defaults_to_the_current_second() -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    ds = build_dataset(projects=1, events_per_project=5, issues_per_project=3, releases=3)
    after = datetime.now(timezone.utc)
    newest = max(parse_datetime(e["dateCreated"]) for e in ds.events["web"])
    assert newest < after and newest > before - timedelta(days=81)


def _unique(values: Iterable[Any]) -> bool:
    values = list(values)
    return len(values) == len(set(values))


def test_ids_are_unique_per_stream(ds: Dataset, records: Dict[str, List[Dict[str, Any]]]) -> None:
    full_events = [e for events in ds.events.values() for e in events]
    assert _unique(e["id"] for e in full_events)
    assert all(e["id"] == e["eventID"] and re.fullmatch(r"[0-9a-f]{32}", e["id"]) for e in full_events)
    assert _unique(i["id"] for i in records["issues"])
    for issues in ds.issues.values():
        assert _unique(i["shortId"] for i in issues)
    assert _unique(p["id"] for p in records["projects"])
    assert _unique(p["slug"] for p in records["projects"])
    assert _unique(r["id"] for r in records["releases"])
    assert _unique(r["version"] for r in records["releases"])
    for stream in ("teams", "members", "project_keys", "environments", "release_deploys"):
        assert _unique(r["id"] for r in records[stream]), stream
    assert _unique((u["date"], u["category"], u["outcome"], u["project_id"]) for u in records["organization_stats"])


def test_default_sizes(ds: Dataset) -> None:
    assert [p["slug"] for p in ds.projects] == ["web", "api", "worker"]
    assert all(len(ds.events[s]) == 250 for s in ("web", "api", "worker"))
    assert all(len(ds.issues[s]) == 120 for s in ("web", "api", "worker"))
    assert len(ds.releases) == 150
    assert set(ds.project_details) == {"web", "api", "worker"}
    slugs = [p["slug"] for p in build_dataset(now=NOW, projects=5, events_per_project=2,
                                               issues_per_project=2, releases=5).projects]
    assert slugs == ["web", "api", "worker", "svc-4", "svc-5"]


def test_event_summary_projection(ds: Dataset) -> None:
    schema = load_schema("events")
    validator = jsonschema.Draft7Validator(schema, format_checker=FORMAT_CHECKER)
    for event in ds.events["api"][:50]:
        summary = event_summary(event)
        assert tuple(summary) == EVENT_SUMMARY_FIELDS
        assert summary["event.type"] == event["type"]
        assert all(k in event for k in EVENT_SUMMARY_FIELDS if k != "event.type")
        assert not list(validator.iter_errors(summary))
        assert set(summary) <= set(schema["properties"])


def test_events_reference_issues_of_their_project(ds: Dataset) -> None:
    for slug, events in ds.events.items():
        project_id = next(p["id"] for p in ds.projects if p["slug"] == slug)
        issues = {i["id"]: i for i in ds.issues[slug]}
        for e in events:
            assert e["projectID"] == project_id
            issue = issues[e["groupID"]]
            assert e["title"] == issue["title"] and e["metadata"] == issue["metadata"]
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e["dateCreated"])
            created = parse_datetime(e["dateCreated"])
            assert parse_datetime(issue["firstSeen"]) <= created <= parse_datetime(issue["lastSeen"])
            assert parse_datetime(e["dateReceived"]) > created
            assert NOW - timedelta(days=81) < created < NOW
        assert [e["dateCreated"] for e in events] == sorted((e["dateCreated"] for e in events), reverse=True)


def test_issue_dates_statuses_and_counts(ds: Dataset) -> None:
    issues = [i for v in ds.issues.values() for i in v]
    formats = {bool(re.search(r"\.\d{6}Z$", i["lastSeen"])) for i in issues}
    assert formats == {True, False}, "lastSeen should come with and without microseconds"
    assert {bool(re.search(r"\.\d{6}Z$", i["firstSeen"])) for i in issues} == {True, False}
    for i in issues:
        assert parse_datetime(i["firstSeen"]) <= parse_datetime(i["lastSeen"])
        assert isinstance(i["count"], str) and int(i["count"]) >= 1
        assert i["lifetime"]["count"] == i["count"]
        assert len(i["stats"]["24h"]) == 24
        assert i["project"]["slug"] in ds.issues and i in ds.issues[i["project"]["slug"]]
    by_status = {s: sum(i["status"] == s for i in issues) / len(issues) for s in ("unresolved", "resolved", "ignored")}
    assert 0.40 < by_status["unresolved"] < 0.60
    assert 0.25 < by_status["resolved"] < 0.45
    assert 0.08 < by_status["ignored"] < 0.22
    for slug, v in ds.issues.items():
        n_events = {}
        for e in ds.events[slug]:
            n_events[e["groupID"]] = n_events.get(e["groupID"], 0) + 1
        for i in v:
            assert int(i["count"]) >= n_events.get(i["id"], 0)


def test_releases_status_versions_and_dates(ds: Dataset) -> None:
    archived = [r for r in ds.releases if r["_status"] == "archived"]
    assert 0.1 < len(archived) / len(ds.releases) < 0.3
    assert all(r["status"] == r["_status"] for r in ds.releases)
    versions = [r["version"] for r in ds.releases]
    assert any("+" in v for v in versions) and any(" " in v for v in versions)
    assert any("(" in v for v in versions) and any("@" not in v for v in versions)
    assert "1.0.0" in versions
    assert all(re.search(r"\.\d{6}Z$", r["dateCreated"]) for r in ds.releases)
    oldest = min(parse_datetime(r["dateCreated"]) for r in ds.releases)
    assert oldest < NOW - timedelta(days=500)
    project_slugs = {p["slug"] for p in ds.projects}
    for r in ds.releases:
        assert r["projects"] and {p["slug"] for p in r["projects"]} <= project_slugs
        assert r["deployCount"] == len(ds.deploys.get(r["version"], []))
        if r["lastDeploy"]:
            assert r["lastDeploy"] in ds.deploys[r["version"]]
    assert set(ds.deploys) <= set(versions)
    assert all(1 <= len(d) <= 3 for d in ds.deploys.values())


def test_members_include_pending_invites(ds: Dataset) -> None:
    pending = [m for m in ds.members if m["pending"]]
    assert pending and all(m["user"] is None for m in pending)
    assert all(m["user"] and m["user"]["email"] == m["email"] for m in ds.members if not m["pending"])


def test_usage_rows_cover_the_last_30_days(ds: Dataset) -> None:
    days = sorted({u["date"] for u in ds.usage})
    assert len(days) == 30 and days[-1] == NOW.date().isoformat()
    assert {u["outcome"] for u in ds.usage} >= {"accepted", "filtered", "rate_limited", "invalid", "client_discard"}
    assert {u["project_id"] for u in ds.usage} == {int(p["id"]) for p in ds.projects}
    for p in ds.projects:
        for day in days:
            accepted = sum(u["quantity"] for u in ds.usage if u["project_id"] == int(p["id"]) and u["date"] == day
                           and u["category"] == "error" and u["outcome"] == "accepted")
            assert accepted == sum(e["dateCreated"].startswith(day) for e in ds.events[p["slug"]])


def test_new_records_are_valid_and_unique(ds: Dataset) -> None:
    when = NOW - timedelta(minutes=5)
    ev1, ev2 = new_event(ds, "web", when), new_event(ds, "web", when)
    ids = {e["id"] for e in ds.events["web"]}
    assert ev1["id"] != ev2["id"] and ev1["id"] not in ids and ev2["id"] not in ids
    assert ev1["dateCreated"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ev1["groupID"] in {i["id"] for i in ds.issues["web"]}
    issue = new_issue(ds, "api", when)
    assert issue["id"] not in {i["id"] for v in ds.issues.values() for i in v}
    assert issue["shortId"] not in {i["shortId"] for i in ds.issues["api"]}
    assert parse_datetime(issue["firstSeen"]) <= parse_datetime(issue["lastSeen"]) == when
    release = new_release(ds, when, status="archived")
    assert release["_status"] == "archived" and release["status"] == "archived"
    assert release["id"] not in {r["id"] for r in ds.releases}
    assert release["version"] not in {r["version"] for r in ds.releases}
    for stream, record in (("events", ev1), ("issues", issue), ("releases", served(release))):
        schema = load_schema(stream)
        assert not list(jsonschema.Draft7Validator(schema, format_checker=FORMAT_CHECKER).iter_errors(record))
        assert not list(undeclared_keys(schema, record)), stream


def test_large_build_has_unique_ids() -> None:
    # its speed is the benchmark's business (bench/), not a timed test's
    big = build_dataset(now=NOW, events_per_project=20000)
    assert sum(len(v) for v in big.events.values()) == 60000
    assert _unique(e["id"] for v in big.events.values() for e in v)

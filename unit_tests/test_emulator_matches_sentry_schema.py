"""The emulator answers every request the connector makes with bodies that Sentry's published
response schema accepts, so that the emulator cannot drift from Sentry unnoticed.

Real HTTP to the shared emulator, a few pages and parameter variants per endpoint. The published
schemas are validated closed (a field Sentry does not document fails), with the corrections Sentry's
code requires, each with its source, in sentry_field_facts.py: fields sent only on other requests
are not required, fields Sentry sends without documenting them are allowed, and where Sentry's
values do not have the published type the code's type is used.
"""
from __future__ import annotations

import copy
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import jsonschema
import pytest
import requests

from openapi_subset import response_schema, to_json_schema
from sentry_emulator.dataset import Dataset
from sentry_emulator.server import SentryEmulator
from sentry_field_facts import CONDITIONAL, DETAIL_ONLY_EVENT_FIELDS, TYPE_CORRECTIONS, UNDOCUMENTED

AUTH = {"Authorization": "Bearer emulator-token"}
NEXT_LINK = re.compile(r'<([^>]+)>; rel="next"; results="true"')


def _check_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    return True


FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
FORMAT_CHECKER.checks("date-time", raises=(ValueError,))(_check_datetime)


def _parent_and_name(item: Dict[str, Any], path: str) -> Tuple[Dict[str, Any], str]:
    """The object schema holding the last field of `path`, and that field's name."""
    parts = path.split(".")
    node = item
    for part in parts[:-1]:
        is_array = part.endswith("[]")
        node = node["properties"][part[:-2] if is_array else part]
        if is_array:
            node = node["items"]
    return node, parts[-1]


def sentry_schema(operation_id: str) -> Dict[str, Any]:
    """The closed JSON Schema of an operation's 200 body, corrected by what Sentry's code says."""
    schema = to_json_schema(response_schema(operation_id), closed=True)
    item = schema["items"] if schema.get("type") == "array" else schema
    for path in CONDITIONAL.get(operation_id, {}):
        parent, name = _parent_and_name(item, path)
        if name.endswith("[]"):
            continue
        if name in parent.get("required", []):
            parent["required"] = [field for field in parent["required"] if field != name]
    for path, (field_schema, _source) in {**UNDOCUMENTED.get(operation_id, {}),
                                          **TYPE_CORRECTIONS.get(operation_id, {})}.items():
        parent, name = _parent_and_name(item, path)
        parent.setdefault("properties", {})[name] = copy.deepcopy(field_schema)
    return schema


def full_event_schema() -> Dict[str, Any]:
    """events?full=true items: EventSerializer, documented as getProjectEvent without the detail-only fields."""
    item = sentry_schema("getProjectEvent")
    item["required"] = [field for field in item["required"] if field not in DETAIL_ONLY_EVENT_FIELDS]
    return {"type": "array", "items": item}


def pages(emulator: SentryEmulator, path: str, params: Mapping[str, Any], limit: int) -> Iterator[Any]:
    """Up to `limit` pages of a listing, following the Link header as the connector does."""
    url: Optional[str] = f"{emulator.url}/api/0/{path}"
    query: Optional[Mapping[str, Any]] = params
    for _ in range(limit):
        response = requests.get(url, params=query, headers=AUTH, timeout=30)
        assert response.status_code == 200, f"{path} {dict(params)}: {response.status_code} {response.text[:200]}"
        yield response.json()
        found = NEXT_LINK.search(response.headers.get("Link", ""))
        if not found:
            return
        url, query = found.group(1), None


def assert_valid(schema: Mapping[str, Any], body: Any, where: str) -> None:
    errors = sorted(jsonschema.Draft7Validator(schema, format_checker=FORMAT_CHECKER).iter_errors(body),
                    key=lambda error: list(error.absolute_path))
    shown = [f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:300]}" for error in errors[:10]]
    assert not errors, f"{where}: {len(errors)} violation(s) of Sentry's schema:\n" + "\n".join(shown)


def window(days: int) -> Dict[str, str]:
    end = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    return {"start": (end - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": end.strftime("%Y-%m-%dT%H:%M:%SZ")}


def day_window(days_ago: int) -> Dict[str, str]:
    day = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)
    return {"start": day.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": (day + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}


def project_ids(dataset: Dataset) -> List[str]:
    return [str(project["id"]) for project in dataset.projects]


def slugs(dataset: Dataset) -> List[str]:
    return [str(project["slug"]) for project in dataset.projects]


# (case, operationId, path, params builder(dataset), pages): the connector's requests (manifest)
# and a few variants around them.
CASES = [
    ("events summary", "listProjectEvents", "projects/acme/{slug}/events/", lambda ds: {"per_page": 50}, 3),
    ("events full window (connector)", "getProjectEvent+list", "projects/acme/{slug}/events/",
     lambda ds: {"full": "true", **window(90), "per_page": 100}, 3),
    ("issues default query", "listOrganizationIssues", "organizations/acme/issues/", lambda ds: {"limit": 50}, 2),
    ("issues lastSeen window (connector)", "listOrganizationIssues", "organizations/acme/issues/",
     lambda ds: {"project": project_ids(ds)[0], "sort": "date", "limit": "100", **window(90),
                 "query": f"lastSeen:>={window(90)['start']} lastSeen:<{window(90)['end']}"}, 3),
    ("issues every status, 14d stats", "listOrganizationIssues", "organizations/acme/issues/",
     lambda ds: {"query": "", "groupStatsPeriod": "14d", "limit": 100}, 2),
    ("issues without stats", "listOrganizationIssues", "organizations/acme/issues/",
     lambda ds: {"query": "is:resolved", "groupStatsPeriod": "", "limit": 100}, 1),
    ("projects (connector)", "listOrganizationProjects", "organizations/acme/projects/", lambda ds: {"per_page": 100}, 2),
    ("project detail (connector)", "getProject", "projects/acme/{slug}/", lambda ds: {}, 1),
    ("releases every status (connector)", "listOrganizationReleases", "organizations/acme/releases/",
     lambda ds: {"status": "", "per_page": 100}, 3),
    ("releases default status", "listOrganizationReleases", "organizations/acme/releases/", lambda ds: {"per_page": 50}, 2),
    ("teams (connector)", "listOrganizationTeams", "organizations/acme/teams/", lambda ds: {"per_page": 100}, 1),
    ("members (connector)", "listOrganizationMembers", "organizations/acme/members/", lambda ds: {"per_page": 5}, 4),
    ("client keys (connector)", "listProjectKeys", "projects/acme/{slug}/keys/", lambda ds: {"per_page": 100}, 1),
    ("environments all (connector)", "listProjectEnvironments", "projects/acme/{slug}/environments/",
     lambda ds: {"visibility": "all"}, 1),
    ("environments visible", "listProjectEnvironments", "projects/acme/{slug}/environments/", lambda ds: {}, 1),
    ("stats_v2 by category, outcome, project, one day (connector)", "listOrganizationStatsV2",
     "organizations/acme/stats_v2/",
     lambda ds: {"field": "sum(quantity)", "groupBy": ["category", "outcome", "project"], "interval": "1d",
                 **day_window(1)}, 1),
    ("stats_v2 by outcome over 14 days", "listOrganizationStatsV2", "organizations/acme/stats_v2/",
     lambda ds: {"field": "sum(quantity)", "groupBy": ["outcome"], "category": "error", "interval": "1d",
                 "statsPeriod": "14d"}, 1),
]


@pytest.mark.parametrize("case, operation_id, path, params, limit", CASES, ids=[case[0] for case in CASES])
def test_given_a_request_when_the_emulator_answers_then_sentrys_published_schema_accepts_the_body(
        shared_emulator: SentryEmulator, shared_dataset: Dataset,
        case: str, operation_id: str, path: str, params: Any, limit: int) -> None:
    schema = full_event_schema() if operation_id == "getProjectEvent+list" else sentry_schema(operation_id)
    targets = [path.format(slug=slug) for slug in slugs(shared_dataset)] if "{slug}" in path else [path]
    seen = 0
    for target in targets:
        for number, body in enumerate(pages(shared_emulator, target, params(shared_dataset), limit), start=1):
            assert_valid(schema, body, f"{case}: {target} page {number}")
            seen += len(body) if isinstance(body, list) else len(body.get("groups", [None]))
    assert seen, f"{case}: the emulator answered nothing to validate"


def test_given_deployed_releases_when_listing_their_deploys_then_sentrys_published_schema_accepts_the_body(
        shared_emulator: SentryEmulator, shared_dataset: Dataset) -> None:
    schema = sentry_schema("listOrganizationReleaseDeploys")
    versions = [version for version, deploys in shared_dataset.deploys.items() if deploys][:5]
    assert versions
    for version in versions:
        for body in pages(shared_emulator, f"organizations/acme/releases/{requests.utils.quote(version, safe='')}/deploys/",
                          {}, 2):
            assert body
            assert_valid(schema, body, f"deploys of {version}")


def test_given_an_undocumented_field_when_validating_then_the_closed_schema_rejects_it() -> None:
    """The validation above can fail: a field Sentry does not document is an error."""
    schema = sentry_schema("listProjectEnvironments")
    with pytest.raises(AssertionError, match="Additional properties"):
        assert_valid(schema, [{"id": "1", "name": "production", "isHidden": False, "invented": 1}], "environments")
    with pytest.raises(AssertionError, match="'name' is a required property"):
        assert_valid(schema, [{"id": "1", "isHidden": False}], "environments")

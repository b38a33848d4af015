"""Sentry's own example responses, served to the connector, come out as records unchanged.

A small fixture server answers the requests the connector makes with the example bodies of Sentry's
published schema (unit_tests/sentry_openapi/), the windowed endpoints honouring start/end as Sentry
does. Every stream those examples cover emits each example record once, valid against the
stream's schema, with every value as Sentry sent it; the fields the connector derives (environments'
project, the flattened stats_v2 columns) are asserted on their own.

Top-level nulls come out as null (source_sentry/components.py KeepTopLevelNulls). Issues carry their
totals from `lifetime` at the top and Sentry's window figures as window* (asserted on their own).
"""
from __future__ import annotations

import json
import re
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs, urlparse

import jsonschema
import pytest

from harness import read, records_of
from openapi_subset import examples, stream_schema

ORG = "the-interstellar-jurisdiction"
START_DATE = "2018-01-01"  # before every example's date
STATS_DAY = datetime.now(timezone.utc).strftime("%Y-%m-%d")  # the one day the stats example is served for


def only_example(operation_id: str) -> Any:
    found = examples(operation_id)
    assert len(found) == 1, f"{operation_id}: expected one example, found {sorted(found)}"
    return next(iter(found.values()))


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def in_window(query: Mapping[str, List[str]], when: str) -> bool:
    """Sentry's window: start inclusive, end exclusive."""
    start, end = parse_time(query["start"][0]), parse_time(query["end"][0])
    return start <= parse_time(when) < end


def windowed(rows: List[Dict[str, Any]], field: str) -> Callable[[Mapping[str, List[str]]], Any]:
    return lambda query: [row for row in rows if in_window(query, row[field])]


def stats_for_one_day(body: Dict[str, Any]) -> Callable[[Mapping[str, List[str]]], Any]:
    def answer(query: Mapping[str, List[str]]) -> Any:
        served_day = query["start"][0].startswith(STATS_DAY)
        return {**body, "groups": body["groups"] if served_day else []}
    return answer


# path pattern -> answer(query): the example bodies of the operations behind the streams
ROUTES: List[Tuple[re.Pattern, Callable[[Mapping[str, List[str]]], Any]]] = [
    (re.compile(rf"^/api/0/organizations/{ORG}/projects/$"), lambda q: only_example("listOrganizationProjects")),
    (re.compile(rf"^/api/0/projects/{ORG}/[^/]+/$"), lambda q: only_example("getProject")),
    (re.compile(rf"^/api/0/projects/{ORG}/[^/]+/events/$"), windowed(only_example("listProjectEvents"), "dateCreated")),
    # the events stream's count of events per project (source_sentry/projects.py): Sentry's example has
    # no project.id column, so the count is not trusted and every project is read
    (re.compile(rf"^/api/0/organizations/{ORG}/events/$"), lambda q: only_example("listOrganizationEvents")),
    (re.compile(rf"^/api/0/organizations/{ORG}/issues/$"), windowed(only_example("listOrganizationIssues"), "lastSeen")),
    (re.compile(rf"^/api/0/organizations/{ORG}/releases/$"), lambda q: only_example("listOrganizationReleases")),
    (re.compile(rf"^/api/0/organizations/{ORG}/teams/$"), lambda q: only_example("listOrganizationTeams")),
    (re.compile(rf"^/api/0/organizations/{ORG}/members/$"), lambda q: only_example("listOrganizationMembers")),
    (re.compile(rf"^/api/0/projects/{ORG}/[^/]+/keys/$"), lambda q: only_example("listProjectKeys")),
    (re.compile(rf"^/api/0/projects/{ORG}/[^/]+/environments/$"), lambda q: only_example("listProjectEnvironments")),
    (re.compile(rf"^/api/0/organizations/{ORG}/stats_v2/$"), stats_for_one_day(only_example("listOrganizationStatsV2"))),
]


class ExampleServer:
    """Serves the example bodies over HTTP, one page each (the Link header says there is no next)."""

    def __init__(self) -> None:
        self.requests: List[str] = []
        self.unanswered: List[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parsed = urlparse(self.path)
                owner.requests.append(parsed.path)
                for pattern, answer in ROUTES:
                    if pattern.match(parsed.path):
                        body = json.dumps(answer(parse_qs(parsed.query, keep_blank_values=True))).encode()
                        url = f"http://{self.headers['Host']}{parsed.path}"
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Link", f'<{url}?cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", '
                                                 f'<{url}?cursor=0:100:0>; rel="next"; results="false"; cursor="0:100:0"')
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                        return
                owner.unanswered.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "ExampleServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


STREAMS = ["projects", "project_detail", "events", "issues", "releases", "teams", "members", "project_keys",
           "environments", "release_deploys", "organization_stats"]


@pytest.fixture(scope="module")
def synced() -> Iterator[Tuple[Dict[str, List[Dict[str, Any]]], ExampleServer]]:
    with ExampleServer() as server:
        config = {"auth_token": "example-token", "organization": ORG, "hostname": server.url,
                  "start_date": START_DATE, "retry_backoff_seconds": 0.01}
        output = read(config, STREAMS)
        assert not output.errors, [m.trace.error.message for m in output.errors]
        yield {stream: records_of(output, stream) for stream in STREAMS}, server


def assert_schema_valid(stream: str, records: List[Dict[str, Any]]) -> None:
    validator = jsonschema.Draft7Validator(stream_schema(stream))
    for record in records:
        errors = list(validator.iter_errors(record))
        assert not errors, f"{stream}: {errors[0].message} at {list(errors[0].absolute_path)}"


# stream -> the example records it must emit, unchanged
UNCHANGED = {
    "projects": lambda: only_example("listOrganizationProjects"),
    "project_detail": lambda: [only_example("getProject")],
    "events": lambda: only_example("listProjectEvents"),
    "releases": lambda: only_example("listOrganizationReleases"),
    "teams": lambda: only_example("listOrganizationTeams"),
    "members": lambda: only_example("listOrganizationMembers"),
    "project_keys": lambda: only_example("listProjectKeys"),
}


@pytest.mark.parametrize("stream", sorted(UNCHANGED))
def test_given_sentrys_example_response_when_synced_then_each_example_record_is_emitted_once_as_sent(
        synced: Tuple[Dict[str, List[Dict[str, Any]]], ExampleServer], stream: str) -> None:
    emitted = synced[0][stream]
    expected = UNCHANGED[stream]()
    assert emitted == expected
    assert_schema_valid(stream, emitted)


def test_given_sentrys_issues_example_when_synced_then_totals_come_from_lifetime_and_the_window_figures_are_kept(
        synced: Tuple[Dict[str, List[Dict[str, Any]]], ExampleServer]) -> None:
    emitted = synced[0]["issues"]
    examples = only_example("listOrganizationIssues")
    window_keys = {"windowStart", "windowEnd"}
    assert [{key: value for key, value in record.items() if key not in window_keys} for record in emitted] == [
        {**example, "count": example["lifetime"]["count"], "userCount": example["lifetime"]["userCount"],
         "firstSeen": example["lifetime"]["firstSeen"], "windowCount": example["count"],
         "windowUserCount": example["userCount"], "windowFirstSeen": example["firstSeen"]}
        for example in examples
    ]
    # each record names the window it was read in, which holds its (windowed) lastSeen
    assert all(record["windowStart"] <= record["lastSeen"][:19] + "Z" < record["windowEnd"] for record in emitted)
    assert_schema_valid("issues", emitted)


def test_given_sentrys_environments_example_when_synced_then_each_environment_gains_its_project_slug(
        synced: Tuple[Dict[str, List[Dict[str, Any]]], ExampleServer]) -> None:
    emitted = synced[0]["environments"]
    [project] = only_example("listOrganizationProjects")
    assert emitted == [{**environment, "project": project["slug"]}
                       for environment in only_example("listProjectEnvironments")]
    assert_schema_valid("environments", emitted)


def test_given_sentrys_stats_v2_example_when_synced_then_its_group_becomes_one_flat_row_of_the_requested_day(
        synced: Tuple[Dict[str, List[Dict[str, Any]]], ExampleServer]) -> None:
    """The row has the day of the request, the example's outcome and sum(quantity); `by` and `totals`
    are flattened away and `series` passes as sent. Sentry's example groups by outcome only, while the
    connector groups by category, outcome and project (Sentry then always sends all three keys): a key
    the group lacks comes out as an empty string, which the integer project_id column does not accept."""
    [group] = only_example("listOrganizationStatsV2")["groups"]
    [row] = synced[0]["organization_stats"]
    assert row == {"date": STATS_DAY, "category": "", "outcome": group["by"]["outcome"], "project_id": "",
                   "quantity": group["totals"]["sum(quantity)"], "series": group["series"]}
    assert_schema_valid("organization_stats", [{key: value for key, value in row.items() if key != "project_id"}])


def test_given_no_deployed_release_in_the_example_when_synced_then_no_deploy_is_requested_or_emitted(
        synced: Tuple[Dict[str, List[Dict[str, Any]]], ExampleServer]) -> None:
    # Sentry publishes no example for the deploy list, and its release example has deployCount 0.
    assert [release["deployCount"] for release in only_example("listOrganizationReleases")] == [0]
    records, server = synced
    assert records["release_deploys"] == []
    assert not [path for path in server.requests if path.endswith("/deploys/")]


def test_given_the_examples_when_synced_then_every_request_was_answered_by_an_example(
        synced: Tuple[Dict[str, List[Dict[str, Any]]], ExampleServer]) -> None:
    records, server = synced
    assert server.unanswered == []
    assert all(records[stream] for stream in STREAMS if stream != "release_deploys")

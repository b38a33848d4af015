"""Explore queries in the config: each one a stream with its name, key, cursor and a schema typed by
Sentry; mistakes explained in one sentence before any request, and queries Sentry refuses named at
`check`; the query text reaches Sentry exactly as written."""
from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List

import pytest
import yaml
from airbyte_cdk.sources.declarative.concurrent_declarative_source import ConcurrentDeclarativeSource
from airbyte_cdk.test.entrypoint_wrapper import discover as entrypoint_discover

from sentry_emulator.server import SentryEmulator

from explore_harness import explore_config, explore_requests, read_explore
from harness import STREAMS, TOKEN, config_for, discover, records_of, run_cli, write_json
from test_connector_builder import BUILDER_MANIFEST

ROWS = {"name": "slow_db_spans", "dataset": "spans", "fields": ["span.op", "span.description", "span.duration", "transaction"],
        "query": "span.op:db span.duration:>1s"}
LOGS = {"name": "checkout_logs", "dataset": "logs", "fields": ["message", "severity", "trace", "severity_number"], "query": "service:checkout"}
AGGREGATES = {"name": "span_ops", "dataset": "spans", "fields": ["span.op", "count()", "p95(span.duration)", "tags[cart.value,number]"]}
ERRORS = {"name": "errors", "dataset": "errors", "fields": ["title", "issue.id", "no.such.tag"]}


@pytest.fixture(scope="module")
def explore_emulator(shared_dataset) -> Iterator[SentryEmulator]:
    with SentryEmulator(shared_dataset) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def catalog(explore_emulator) -> Dict[str, Any]:
    output = discover(explore_config(explore_emulator, ROWS, LOGS, AGGREGATES, ERRORS))
    return {stream.name: stream for stream in output.catalog.catalog.streams}


def check(tmp_path, config) -> Dict[str, Any]:
    messages, code = run_cli(["check", "--config", write_json(tmp_path / "config.json", config)])
    statuses = [message["connectionStatus"] for message in messages if message["type"] == "CONNECTION_STATUS"]
    assert len(statuses) == 1 and code == 0
    assert TOKEN not in json.dumps(messages)
    return statuses[0]


# ------------------------------------------------------------------------------------------------
# discover
# ------------------------------------------------------------------------------------------------

def test_given_explore_queries_when_discovering_then_each_is_a_stream_beside_the_built_in_ones(catalog):
    assert sorted(catalog) == sorted([*STREAMS, "explore_slow_db_spans", "explore_checkout_logs", "explore_span_ops", "explore_errors"])


def test_no_built_in_stream_is_named_like_an_explore_stream():
    assert not [name for name in STREAMS if name.startswith("explore_")]


@pytest.mark.parametrize("name, key, cursor", [
    ("explore_slow_db_spans", [["id"]], "timestamp"),
    ("explore_checkout_logs", [["id"]], "timestamp"),
    ("explore_errors", [["id"]], "timestamp"),
    ("explore_span_ops", [["span.op"], ["tags[cart.value,number]"], ["project.id"], ["window_start"]], "window_end"),
])
def test_each_explore_stream_declares_its_key_cursor_and_both_sync_modes(catalog, name, key, cursor):
    stream = catalog[name]
    assert stream.source_defined_primary_key == key
    assert stream.default_cursor_field == [cursor]
    assert sorted(mode.value for mode in stream.supported_sync_modes) == ["full_refresh", "incremental"]


NULL_STRING, NULL_NUMBER, NULL_INTEGER = {"type": ["null", "string"]}, {"type": ["null", "number"]}, {"type": ["null", "integer"]}
DATE_TIME = {"type": ["null", "string"], "format": "date-time"}


@pytest.mark.parametrize("name, properties", [
    ("explore_slow_db_spans", {"span.op": NULL_STRING, "span.description": NULL_STRING, "span.duration": NULL_NUMBER,
                               "transaction": NULL_STRING, "id": NULL_STRING, "timestamp": DATE_TIME, "project.name": NULL_STRING}),
    ("explore_checkout_logs", {"message": NULL_STRING, "severity": NULL_STRING, "trace": NULL_STRING, "severity_number": NULL_INTEGER,
                               "id": NULL_STRING, "timestamp": DATE_TIME, "timestamp_precise": NULL_INTEGER}),
    # count() integer, a duration a number, a typed attribute a number (meta says so; its name alone does not)
    ("explore_span_ops", {"span.op": NULL_STRING, "count()": NULL_INTEGER, "p95(span.duration)": NULL_NUMBER,
                          "tags[cart.value,number]": NULL_NUMBER, "project.id": NULL_INTEGER, "window_start": DATE_TIME, "window_end": DATE_TIME}),
    ("explore_errors", {"title": NULL_STRING, "issue.id": NULL_INTEGER, "no.such.tag": NULL_STRING, "id": NULL_STRING,
                        "timestamp": DATE_TIME, "project.name": NULL_STRING}),
])
def test_each_explore_stream_is_typed_from_sentrys_meta_fields(catalog, name, properties):
    schema = catalog[name].json_schema
    assert schema["type"] == "object"
    assert schema["properties"] == properties


def test_given_the_builder_edition_then_types_come_from_field_names_alone(explore_emulator):
    """Control, and what a Connector Builder user sees: without Sentry's meta a typed attribute is a
    string, and the declared schema has no top-level "type" (explore.py says why)."""
    config = explore_config(explore_emulator, AGGREGATES)
    source = ConcurrentDeclarativeSource(source_config=yaml.safe_load(BUILDER_MANIFEST.read_text()), config=config)

    (stream,) = [stream for stream in entrypoint_discover(source, config).catalog.catalog.streams if stream.name == "explore_span_ops"]

    assert stream.json_schema["properties"]["tags[cart.value,number]"] == NULL_STRING
    assert stream.json_schema["properties"]["p95(span.duration)"] == NULL_NUMBER
    assert "type" not in stream.json_schema


def test_given_a_query_named_like_a_built_in_stream_then_both_streams_are_listed(explore_emulator):
    output = discover(explore_config(explore_emulator, {"name": "projects", "dataset": "spans", "fields": ["span.op"]}))

    names = [stream.name for stream in output.catalog.catalog.streams]
    assert names.count("projects") == 1 and names.count("explore_projects") == 1


# ------------------------------------------------------------------------------------------------
# requests
# ------------------------------------------------------------------------------------------------

def test_given_a_query_with_quotes_and_braces_then_sentry_receives_it_exactly(explore_emulator):
    """The query is data, never a template: braces are not rendered, quotes are not stripped."""
    text = 'message:"{{ 6*7 }}" "payment failed" !severity:debug'
    query = {"name": "odd", "dataset": "logs", "fields": ["message"], "query": text, "environments": ["production", "staging"]}
    explore_emulator.clear_log()

    output = read_explore(explore_config(explore_emulator, query, projects=["api", "web"]), ["explore_odd"])

    sent = explore_requests(explore_emulator)
    assert sent and {tuple(request.query["query"]) for request in sent} == {(text,)}
    assert {tuple(request.query["environment"]) for request in sent} == {("production", "staging")}
    assert {tuple(request.query["projectSlug"]) for request in sent} == {("api", "web")}
    assert records_of(output, "explore_odd") == []


# ------------------------------------------------------------------------------------------------
# check: config mistakes (no request) and queries Sentry refuses
# ------------------------------------------------------------------------------------------------

def query(**changes: Any) -> Dict[str, Any]:
    return {**{"name": "q", "dataset": "spans", "fields": ["span.op"]}, **changes}


@pytest.mark.parametrize("queries, message", [
    ("spans", "explore_queries must be a list of queries, each with a name, a dataset and fields."),
    ([query(name="Slow DB")], "Explore query name 'Slow DB' may hold only lowercase letters, digits and '_', at most 64 (its stream is explore_<name>)."),
    ([query(), query()], "Explore query names must be unique: 'q' is used twice."),
    ([query(dataset="traces")], "Explore query 'q': dataset 'traces' is not one of spans, logs, transactions, errors."),
    ([query(fields=[])], 'Explore query \'q\' needs a list of fields, e.g. ["span.op", "span.duration"].'),
    ([query(fields=[f"attribute_{index}" for index in range(19)])],
     "Explore query 'q' selects 19 fields and the connector adds 2 (id, timestamp): 21 is more than the 20 Sentry allows per query, remove 1."),
    ([query(fields=[f"attribute_{index}" for index in range(19)] + ["count()"])],
     "Explore query 'q' selects 20 fields and the connector adds 1 (project.id): 21 is more than the 20 Sentry allows per query, remove 1."),
    ([query(fields=["count()", "timestamp"])],
     "Explore query 'q' mixes functions with 'timestamp': an aggregate query is read per window (its rows carry window_start and window_end), so remove 'timestamp'."),
    ([query(fields=["span.op", "count()"], window="PT7H")],
     "Explore query 'q' is read per window of its aggregates, so its window must divide a day evenly (PT1H, PT6H, P1D...), not 'PT7H'."),
    ([query(window="1 day")], "Explore query 'q': window '1 day' is not an ISO 8601 duration from PT1M to P90D, such as PT1H, PT6H or P1D."),
    ([query(projects=["web", "my app"])],
     "Explore query 'q': projects[1] 'my app' is not a Sentry slug: slugs hold only letters, digits, '-', '_' and '.', without spaces."),
    ([query(sort="-timestamp")], "Explore query 'q' has an unknown setting 'sort': the settings are name, dataset, fields, query, projects, environments, window, ingestion_lag."),
])
def test_given_a_mistake_in_an_explore_query_when_checking_then_it_is_explained_before_any_request(tmp_path, emulator, queries, message):
    status = check(tmp_path, config_for(emulator, explore_queries=queries))

    assert status == {"status": "FAILED", "message": message}
    assert emulator.requests == []


@pytest.mark.parametrize("bad, detail", [
    (query(fields=["span.op", "foo(span.duration)"]), "Sentry refused the explore query 'q' (spans): Unknown function foo"),
    (query(dataset="errors", fields=["title", "count_uniq(user)"]), "Sentry refused the explore query 'q' (errors): count_uniq is not a valid function"),
    (query(dataset="errors", fields=["ti tle"]), "Sentry refused the explore query 'q' (errors): Invalid characters in field ti tle"),
    (query(dataset="logs", fields=["message"], query="(severity:error"),
     "Sentry refused the explore query 'q' (logs): Parse error at '(sever' (column 1). This is commonly caused by unmatched parentheses. "
     "Enclose any text in double quotes."),
    (query(query="project:nope"), "Sentry refused the explore query 'q' (spans): Invalid query. Project(s) nope do not exist or are not actively selected."),
])
def test_given_a_query_sentry_refuses_when_checking_then_check_fails_naming_it(tmp_path, emulator, bad, detail):
    good = {"name": "fine", "dataset": "logs", "fields": ["message"]}

    status = check(tmp_path, config_for(emulator, explore_queries=[good, bad]))

    assert status == {"status": "FAILED", "message": f"Dynamic Stream explore_q is not available: {detail}"}


def test_given_good_explore_queries_when_checking_then_each_is_asked_for_its_first_window(tmp_path, emulator):
    status = check(tmp_path, config_for(emulator, explore_queries=[ROWS, LOGS, AGGREGATES]))

    assert status == {"status": "SUCCEEDED"}
    # (not the events stream's count of events per project, source_sentry/projects.py)
    assert sorted(request.query["dataset"][0] for request in explore_requests(emulator) if request.query.get("per_page") == ["100"]
                  and request.query.get("field") != ["project.id", "count()"]) == ["logs", "spans", "spans"]


def test_given_a_query_over_a_project_the_token_cannot_see_when_checking_then_the_projects_are_named(tmp_path, emulator):
    status = check(tmp_path, config_for(emulator, explore_queries=[query(projects=["web", "nope"])]))

    assert status == {"status": "FAILED", "message": (
        "Dynamic Stream explore_q is not available: Sentry denied the explore query 'q' (403): the auth token lacks "
        "the 'org:read' scope, or cannot see one of its projects (web, nope).")}


def test_given_a_wrong_token_and_a_query_over_every_project_when_checking_then_the_token_is_blamed_after_one_request(tmp_path, emulator):
    status = check(tmp_path, config_for(emulator, auth_token="sntrys_wrong_secret_value", explore_queries=[query()]))

    assert status == {"status": "FAILED", "message": (
        f"Sentry rejected the auth token (401 Invalid token) at {emulator.url}/api/0/organizations/acme/: it is wrong, "
        "expired or revoked. Create a new auth token in Sentry and update the connector's configuration.")}
    assert [(request.path, request.status) for request in emulator.requests] == [("/api/0/organizations/acme/", 401)]


def test_given_a_host_that_refuses_connections_and_a_query_over_every_project_when_checking_then_it_says_so(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    status = check(tmp_path, {"auth_token": TOKEN, "organization": "acme", "hostname": f"http://127.0.0.1:{port}",
                              "retry_backoff_seconds": 0.01, "explore_queries": [query()]})

    assert status == {"status": "FAILED", "message": (
        f"Could not connect to http://127.0.0.1:{port}: Connection refused. Check the hostname and that this machine can reach it.")}

"""The emulator's Explore table (GET /organizations/{org}/events/) answers like Sentry: datasets,
fields, sorts, projects and global-views, pagination and its cap, meta, sampling and retention."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import pytest
import requests

from sentry_emulator.dataset import build_dataset
from sentry_emulator.dataset.explore import dense_spans
from sentry_emulator.dataset.project_facts import project_facts_of
from sentry_emulator.server import SentryEmulator

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
AUTH = {"Authorization": "Bearer emulator-token"}
Params = Sequence[Tuple[str, str]]


@pytest.fixture(scope="module")
def emulator() -> Iterator[SentryEmulator]:
    dataset = build_dataset(now=NOW, projects=3, events_per_project=40, issues_per_project=10, releases=20,
                            transactions_per_project=30, logs_per_project=40)
    with SentryEmulator(dataset, now=lambda: NOW) as server:
        yield server


def get(emulator: SentryEmulator, params: Params) -> requests.Response:
    return requests.get(emulator.api_url + "organizations/acme/events/", params=list(params), headers=AUTH, timeout=10)


def window(days: int = 29) -> List[Tuple[str, str]]:
    return [("start", (NOW - timedelta(days=days)).isoformat()), ("end", NOW.isoformat())]


def test_given_an_unknown_dataset_then_the_400_lists_every_dataset(emulator):
    response = get(emulator, [("dataset", "traces"), ("field", "id")])

    assert response.status_code == 400
    assert response.json() == {"detail": (
        "dataset must be one of: discover, errors, metricsEnhanced, metrics, ourlogs, logs, uptime_results, profiles, "
        "issuePlatform, profileFunctions, profile_functions, spans, spansIndexed, spansMetrics, tracemetrics, transactions")}


@pytest.mark.parametrize("count, status", [(20, 200), (21, 400)])
def test_given_more_than_20_fields_then_sentry_refuses(emulator, count, status):
    response = get(emulator, [("dataset", "spans"), ("project", "-1"), *window()] + [("field", "span.op")] * count)

    assert response.status_code == status
    if status == 400:
        assert response.json() == {"detail": "You can view up to 20 fields at a time. Please delete some and try again."}


@pytest.mark.parametrize("dataset, field, status, detail", [
    ("spans", "foo(span.duration)", 400, "Unknown function foo"),
    ("errors", "foo(title)", 400, "foo is not a valid function"),
    ("errors", "ti tle", 400, "Invalid characters in field ti tle"),
    ("spans", "p95(span.op)", 400, "span.op is invalid for parameter 1 in p95. Its a string type field, but it must be one of these types: "
                                    "['currency', 'duration', 'integer', 'number', 'percentage', 'rate', 'size']"),
    ("spans", "no.such.attribute", 200, None),  # EAP: an unknown name is a string attribute (null)
    ("errors", "no.such.tag", 200, None),       # discover: a tag
])
def test_given_a_field_then_sentry_resolves_it_or_refuses_it(emulator, dataset, field, status, detail):
    response = get(emulator, [("dataset", dataset), ("field", field), ("project", "-1"), *window()])

    assert response.status_code == status
    if detail:
        assert response.json() == {"detail": detail}
    else:
        rows = response.json()["data"]
        assert rows and {row[field] for row in rows} == {None}
        assert response.json()["meta"]["fields"][field] == "string"


def test_given_a_parenthesis_without_its_pair_then_the_parse_error_names_the_column(emulator):
    response = get(emulator, [("dataset", "spans"), ("field", "span.op"), ("project", "-1"), *window(),
                              ("query", "span.op:db (span.duration:>1s")])

    assert response.status_code == 400
    assert response.json() == {"detail": "Parse error at ':db (span.' (column 12). This is commonly caused by unmatched "
                                         "parentheses. Enclose any text in double quotes."}


@pytest.mark.parametrize("dataset, status, body", [
    ("errors", 400, {"detail": "Cannot sort by a field that is not selected."}),
    ("spans", 500, {"detail": "Internal error. Please try again."}),  # Snuba refuses it; Sentry answers 500
])
def test_given_a_sort_on_a_field_not_selected_then_discover_says_400_and_eap_500(emulator, dataset, status, body):
    response = get(emulator, [("dataset", dataset), ("field", "id"), ("sort", "timestamp"), ("project", "-1"), *window()])

    assert (response.status_code, response.json()) == (status, body)


def test_given_rows_then_sentry_adds_id_and_project_name_but_logs_only_timestamp_precise(emulator):
    spans = get(emulator, [("dataset", "spans"), ("field", "span.op"), ("project", "-1"), *window(), ("per_page", "1")]).json()
    logs = get(emulator, [("dataset", "logs"), ("field", "message"), ("field", "timestamp"), ("project", "-1"), *window(), ("per_page", "1")]).json()
    counts = get(emulator, [("dataset", "spans"), ("field", "span.op"), ("field", "count()"), ("project", "-1"), *window(), ("per_page", "1")]).json()

    assert list(spans["data"][0]) == ["span.op", "id", "project.name"]
    assert spans["meta"]["fields"] == {"span.op": "string", "id": "string", "project.name": "string"}
    assert list(logs["data"][0]) == ["message", "timestamp", "timestamp_precise"]
    assert list(counts["data"][0]) == ["span.op", "count()"]
    assert counts["meta"]["fields"] == {"span.op": "string", "count()": "integer"}
    assert sorted(spans["meta"]) == ["accuracy", "bytesScanned", "dataScanned", "dataset", "datasetReason", "fields",
                                     "isMetricsData", "isMetricsExtractedData", "tips", "units"]


def test_given_projects_then_the_member_projects_are_the_default_and_minus_one_is_every_project(emulator):
    def projects(params: Params) -> set:
        body = get(emulator, [("dataset", "spans"), ("field", "project"), ("field", "count()"), *window(), *params]).json()
        return {row["project"] for row in body["data"]}

    members = {project["slug"] for project in emulator.access().projects(include_all_accessible=False)}
    assert projects([]) == members != {"web", "api", "worker"}  # the projects of the user's teams only
    assert projects([("project", "-1")]) == {"web", "api", "worker"}
    assert projects([("projectSlug", "worker")]) == {"worker"}
    assert get(emulator, [("dataset", "spans"), ("field", "id"), ("projectSlug", "nope"), *window()]).status_code == 403


def test_given_no_global_views_then_several_projects_are_refused_and_one_is_answered(emulator):
    emulator.set_feature("global-views", False)
    try:
        several = get(emulator, [("dataset", "spans"), ("field", "id"), ("project", "-1"), *window()])
        one = get(emulator, [("dataset", "spans"), ("field", "id"), ("projectSlug", "web"), *window()])
    finally:
        emulator.set_feature("global-views", True)

    assert (several.status_code, several.json()) == (400, {"detail": "You cannot view events from multiple projects."})
    assert one.status_code == 200


def test_given_per_page_then_100_is_the_most_except_for_logs(emulator):
    assert get(emulator, [("dataset", "spans"), ("field", "id"), ("per_page", "101")]).json() == {
        "detail": "Invalid per_page value. Must be between 1 and 100."}
    assert get(emulator, [("dataset", "logs"), ("field", "message"), ("per_page", "9999"), ("project", "-1"), *window()]).status_code == 200


def test_given_a_window_above_the_offset_cap_then_pages_stop_silently_at_the_cap():
    dataset = build_dataset(now=NOW, projects=1, events_per_project=1, issues_per_project=1, releases=2,
                            transactions_per_project=0, logs_per_project=0)
    info = project_facts_of(dataset, "web")
    with SentryEmulator(dataset, now=lambda: NOW, explore_offset_cap=250) as emulator:
        emulator.add_explore_rows("spans", dense_spans(info, 400, NOW - timedelta(hours=2), NOW - timedelta(hours=1)))
        ids, cursor, pages = [], None, 0
        while True:
            params = [("dataset", "spans"), ("field", "id"), ("field", "timestamp"), ("sort", "timestamp"), ("sort", "id"),
                      ("projectSlug", "web"), *window(1)] + ([("cursor", cursor)] if cursor else [])
            response = get(emulator, params)
            pages += 1
            ids += [row["id"] for row in response.json()["data"]]
            following = response.links["next"]
            if following["results"] != "true":
                break
            cursor = following["cursor"]

    assert (len(ids), len(set(ids)), pages) == (250, 250, 3)  # 400 rows in the window, the first 250 served


def test_given_spans_older_than_full_fidelity_then_only_the_sampled_tier_answers_partial(emulator):
    old = get(emulator, [("dataset", "spans"), ("field", "id"), ("project", "-1"), ("per_page", "100"),
                         ("start", (NOW - timedelta(days=44)).isoformat()), ("end", (NOW - timedelta(days=31)).isoformat())]).json()
    logs = get(emulator, [("dataset", "logs"), ("field", "id"), ("project", "-1"),
                          ("start", (NOW - timedelta(days=35)).isoformat()), ("end", (NOW - timedelta(days=31)).isoformat())]).json()

    stored = [row for row in emulator.dataset.explore["spans"]
              if (NOW - timedelta(days=44)).timestamp() <= row["_ts"] < (NOW - timedelta(days=31)).timestamp()]
    assert old["meta"]["dataScanned"] == "partial"
    assert sorted(row["id"] for row in old["data"]) == sorted(row["id"] for row in stored if row["_in_sampled_tier"])
    assert 0 < len(old["data"]) < len(stored)
    assert logs["data"] == []  # logs are kept 30 days


@pytest.mark.parametrize("sampling, partial", [(None, True), ("NORMAL", True), ("HIGHEST_ACCURACY", False)])
def test_given_a_large_scan_then_normal_sampling_answers_from_a_sample(sampling, partial):
    dataset = build_dataset(now=NOW, projects=1, events_per_project=1, issues_per_project=1, releases=2,
                            transactions_per_project=20, logs_per_project=0)
    with SentryEmulator(dataset, now=lambda: NOW, explore_normal_sampling_limit=10) as emulator:
        params = [("dataset", "spans"), ("field", "id"), ("projectSlug", "web"), *window(29)]
        body = get(emulator, params + ([("sampling", sampling)] if sampling else [])).json()
        every = [row for row in dataset.explore["spans"] if row["_ts"] >= (NOW - timedelta(days=29)).timestamp()]

    assert body["meta"]["dataScanned"] == ("partial" if partial else "full")
    assert len(body["data"]) == (len(every[:100]) if not partial else min(100, (len(every) + 1) // 2))


def test_given_an_unknown_sampling_mode_then_sentry_refuses_it(emulator):
    response = get(emulator, [("dataset", "spans"), ("field", "id"), ("project", "-1"), ("sampling", "FAST")])

    assert response.json() == {"detail": "sampling mode: FAST is not supported"}


def test_given_discover_datasets_then_a_window_older_than_retention_is_refused(emulator):
    response = get(emulator, [("dataset", "errors"), ("field", "id"), ("project", "-1"),
                              ("start", (NOW - timedelta(days=120)).isoformat()), ("end", (NOW - timedelta(days=100)).isoformat())])

    assert response.json() == {"detail": "Invalid date range. Please try a more recent date range."}


def test_given_the_errors_dataset_then_its_rows_are_the_project_events(emulator):
    body = get(emulator, [("dataset", "errors"), ("field", "title"), ("field", "timestamp"), ("project", "-1"),
                          ("sort", "-timestamp"), ("sort", "-id"), ("per_page", "100"), *window(90)]).json()

    events = [event for events in emulator.dataset.events.values() for event in events]
    expected = sorted(events, key=lambda event: (event["dateCreated"][:19], event["eventID"]), reverse=True)[:100]
    assert [row["id"] for row in body["data"]] == [event["eventID"] for event in expected]
    assert body["data"][0]["timestamp"] == datetime.fromisoformat(expected[0]["dateCreated"].replace("Z", "+00:00")).replace(microsecond=0).isoformat()
    assert body["meta"]["fields"]["timestamp"] == "date"

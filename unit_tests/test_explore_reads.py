"""Explore queries read exact tables: each dataset's rows, window by window, incrementally, with
Sentry's late rows and the ingestion lag; aggregates one row per group and window."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any, Dict, Iterator, List

import pytest
from airbyte_cdk.models import SyncMode

from sentry_emulator.dataset import build_dataset
from sentry_emulator.dataset.explore import dense_spans
from sentry_emulator.dataset.project_facts import project_facts_of
from sentry_emulator.server import SentryEmulator

from conftest import DEFAULT_SIZES, NOW
from explore_harness import (
    START, by_id, expected_rows, explore_config, explore_requests, pages_for, read_explore, rows_of, utc, windows,
)
from harness import error_messages, final_state, records_of, state_for

WEEK = timedelta(days=7)

# One query per dataset, each filtered by a condition the test can apply to the ground truth.
QUERIES = {
    "spans": ({"name": "db_spans", "dataset": "spans", "fields": ["span.op", "span.description", "span.duration", "transaction"],
               "query": "span.op:db"}, lambda row: row["span.op"] == "db"),
    "logs": ({"name": "error_logs", "dataset": "logs", "fields": ["message", "severity", "service"], "query": "severity:error"},
             lambda row: row["severity"] == "error"),
    "transactions": ({"name": "slow_transactions", "dataset": "transactions", "fields": ["transaction", "transaction.duration"],
                      "query": "transaction.duration:>100ms"}, lambda row: row["transaction.duration"] > 100),
    "errors": ({"name": "error_events", "dataset": "errors", "fields": ["title", "level", "environment"], "query": "level:error"},
               lambda row: row["level"] == "error"),
}


@pytest.fixture(scope="module")
def explore_emulator(shared_dataset) -> Iterator[SentryEmulator]:
    """Read-only: tests that add rows start their own."""
    with SentryEmulator(shared_dataset) as emulator:
        yield emulator


@pytest.mark.parametrize("dataset", QUERIES)
def test_given_a_query_of_each_dataset_when_read_then_it_yields_exactly_the_matching_rows_window_by_window(explore_emulator, shared_dataset, dataset):
    query, where = QUERIES[dataset]
    explore_emulator.clear_log()

    output = read_explore(explore_config(explore_emulator, query), [f"explore_{query['name']}"])

    records = records_of(output, f"explore_{query['name']}")
    expected = expected_rows(shared_dataset, dataset, query["fields"], where)
    assert error_messages(output) == []
    assert len(records) == len(expected) > 0
    assert by_id(records) == by_id(expected)
    requests = explore_requests(explore_emulator)
    reads = [request for request in requests if request.query.get("per_page") == ["100"]]
    # one request for the schema (one row), then every window 100 rows at a time
    last_end = max(utc(request.query["end"][0]) for request in reads)
    assert len(requests) == 1 + len(reads)
    assert len(reads) == pages_for(shared_dataset, dataset, windows(START, last_end, WEEK), where)
    (first,) = [request for request in reads if request.query["start"] == [START.strftime("%Y-%m-%dT%H:%M:%S.%fZ")] and "cursor" not in request.query]
    assert first.query == {
        "dataset": [dataset], "field": query["fields"] + ["id", "timestamp"], "sort": ["timestamp", "id"], "query": [query["query"]],
        "project": ["-1"], **({"sampling": ["HIGHEST_ACCURACY"]} if dataset in ("spans", "logs") else {}),
        "start": [START.strftime("%Y-%m-%dT%H:%M:%S.%fZ")], "end": [(START + WEEK).strftime("%Y-%m-%dT%H:%M:%S.%fZ")], "per_page": ["100"],
    }


def test_given_a_first_sync_when_resumed_then_only_the_rows_of_the_last_instant_are_read_again_and_new_rows_once(emulator):
    query = {"name": "spans", "dataset": "spans", "fields": ["span.op"]}
    config = explore_config(emulator, query)
    first = read_explore(config, ["explore_spans"])
    state = final_state(first, "explore_spans")
    last = max(utc(record["timestamp"]) for record in records_of(first, "explore_spans"))
    # one row after the first sync's rows, one arriving at the same instant as its last row
    info = project_facts_of(emulator.dataset, "api")
    later, same_instant = dense_spans(info, 2, last, last + timedelta(seconds=1), seed=3)
    later["_ts"] = (last + timedelta(minutes=20)).timestamp()
    later["timestamp"] = (last + timedelta(minutes=20)).isoformat()
    same_instant["_ts"], same_instant["timestamp"] = last.timestamp(), last.isoformat()
    emulator.add_explore_rows("spans", [later, same_instant])
    emulator.clear_log()

    second = read_explore(config, ["explore_spans"], state=state_for({"explore_spans": state}))

    assert state == {"timestamp": last.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    at_last = [row["id"] for row in rows_of(emulator.dataset, "spans") if row["_ts"] == last.timestamp()]
    assert sorted(record["id"] for record in records_of(second, "explore_spans")) == sorted(at_last + [later["id"]])
    reads = [request for request in explore_requests(emulator) if request.query.get("per_page") == ["100"]]
    assert [request.query["start"] for request in reads] == [[last.strftime("%Y-%m-%dT%H:%M:%S.%fZ")]]
    assert final_state(second, "explore_spans") == {"timestamp": (last + timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}


def test_given_a_row_younger_than_the_ingestion_lag_then_it_waits_for_a_later_sync(emulator):
    info = project_facts_of(emulator.dataset, "web")
    (fresh,) = dense_spans(info, 1, NOW, NOW + timedelta(seconds=1), seed=5)
    # now: three minutes ago by the connector's clock (the lag is five minutes by default)
    from datetime import datetime, timezone
    three_minutes_ago = datetime.now(timezone.utc) - timedelta(minutes=3)
    fresh["_ts"], fresh["timestamp"] = three_minutes_ago.timestamp(), three_minutes_ago.isoformat()
    emulator.add_explore_rows("spans", [fresh])
    query = {"name": "spans", "dataset": "spans", "fields": ["span.op"]}

    default_lag = read_explore(explore_config(emulator, query), ["explore_spans"])
    short_lag = read_explore(explore_config(emulator, {**query, "ingestion_lag": "PT1M"}), ["explore_spans"])

    assert fresh["id"] not in by_id(records_of(default_lag, "explore_spans"))
    assert fresh["id"] in by_id(records_of(short_lag, "explore_spans"))
    assert len(records_of(short_lag, "explore_spans")) == len(records_of(default_lag, "explore_spans")) + 1


def test_given_rows_arriving_while_a_window_is_paged_then_no_row_is_lost_or_repeated(emulator):
    """Two rows arrive while the second page of the window is asked for: one stamped a few minutes ago
    (younger than the ingestion lag: after the window, read by a later sync) and a late one stamped
    inside the window, before the rows already read. The late one shifts every offset by one, so the
    next page starts with a row already read: it is dropped. The late row itself is older than the
    ingestion lag and sits before the page being read: no sync sees it (the README says so)."""
    info = project_facts_of(emulator.dataset, "web")
    query = {"name": "spans", "dataset": "spans", "fields": ["span.op"], "window": "P30D"}
    config = explore_config(emulator, query)
    late, new = dense_spans(info, 2, START + timedelta(hours=1), START + timedelta(hours=2), seed=11)
    from datetime import datetime, timezone
    new["_ts"] = (datetime.now(timezone.utc) - timedelta(minutes=1)).timestamp()
    arrived: List[str] = []

    def arrive(path: str, query_params: Dict[str, List[str]]) -> None:
        if path.endswith("/events/") and query_params.get("cursor") == ["0:100:0"] and not arrived:
            arrived.append("yes")
            emulator.add_explore_rows("spans", [late, new])

    emulator.on_request(arrive)
    output = read_explore(config, ["explore_spans"])

    records = records_of(output, "explore_spans")
    before = [row for row in expected_rows(emulator.dataset, "spans", ["span.op"]) if row["id"] not in (late["id"], new["id"])]
    ids = [record["id"] for record in records]
    assert arrived and len(ids) == len(set(ids))
    assert sorted(ids) == sorted(by_id(before))


def test_given_an_aggregate_query_when_read_then_each_row_is_a_group_of_one_window_and_one_project(explore_emulator, shared_dataset):
    query = {"name": "span_ops", "dataset": "spans", "fields": ["span.op", "count()", "max(span.duration)"]}
    explore_emulator.clear_log()

    output = read_explore(explore_config(explore_emulator, query), ["explore_span_ops"])

    records = records_of(output, "explore_span_ops")
    assert error_messages(output) == []
    days = sorted({record["window_start"] for record in records})
    first, last = utc(days[0]), utc(max(record["window_end"] for record in records))
    assert first == START.replace(hour=0, minute=0, second=0)  # whole days from midnight
    assert all(utc(record["window_end"]) - utc(record["window_start"]) == timedelta(days=1) for record in records)
    expected: Dict[tuple, Dict[str, Any]] = {}
    for row in rows_of(shared_dataset, "spans"):
        if first.timestamp() <= row["_ts"] < last.timestamp():
            day = int((row["_ts"] - first.timestamp()) // 86400)
            key = (row["span.op"], row["project.id"], (first + timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ"))
            group = expected.setdefault(key, {"count()": 0, "max(span.duration)": 0.0})
            group["count()"] += 1
            group["max(span.duration)"] = max(group["max(span.duration)"], row["span.duration"])
    assert {(r["span.op"], r["project.id"], r["window_start"]): {"count()": r["count()"], "max(span.duration)": r["max(span.duration)"]}
            for r in records} == expected
    assert len(records) == len(expected)
    assert final_state(output, "explore_span_ops") == {"window_end": last.strftime("%Y-%m-%dT%H:%M:%SZ")}
    reads = [request for request in explore_requests(explore_emulator) if request.query.get("per_page") == ["100"]]
    assert len(reads) == (last - first).days  # one request per day: never more than 100 groups a day
    assert reads[0].query["field"] == ["span.op", "count()", "max(span.duration)", "project.id"]
    assert reads[0].query["sort"] == ["span.op", "project.id"]


def test_given_an_aggregate_state_when_resumed_then_no_closed_window_is_read_again(explore_emulator):
    query = {"name": "span_ops", "dataset": "spans", "fields": ["span.op", "count()"]}
    config = explore_config(explore_emulator, query)
    first = read_explore(config, ["explore_span_ops"])
    state = final_state(first, "explore_span_ops")
    explore_emulator.clear_log()

    second = read_explore(config, ["explore_span_ops"], state=state_for({"explore_span_ops": state}))

    # the last closed window was read by the first sync: nothing is left until the next one closes
    # (or one request, should a day have closed between the two reads)
    assert len(explore_requests(explore_emulator)) in (1, 2)
    assert {record["window_start"] for record in records_of(second, "explore_span_ops")} <= {state["window_end"]}


def test_given_the_four_datasets_in_one_sync_then_each_stream_has_its_state(explore_emulator, shared_dataset):
    queries = [query for query, _ in QUERIES.values()]
    names = [f"explore_{query['name']}" for query in queries]

    output = read_explore(explore_config(explore_emulator, *queries), names)

    assert error_messages(output) == []
    counts = Counter(record.record.stream for record in output.records)
    assert {name: counts[name] for name in names} == {
        f"explore_{query['name']}": len(expected_rows(shared_dataset, query["dataset"], query["fields"], where))
        for query, where in QUERIES.values()
    }
    assert {name: list(final_state(output, name)) for name in names} == {name: ["timestamp"] for name in names}

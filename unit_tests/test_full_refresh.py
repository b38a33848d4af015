"""Full refresh emits every record the API holds, exactly once."""
from collections import Counter

import pytest

from harness import STREAMS, config_for, ground_truth, ids_of, read, records_of
from sentry_emulator.dataset import build_dataset
from conftest import NOW


@pytest.fixture(scope="module")
def full_sync(shared_emulator):
    shared_emulator.clear_log()
    output = read(config_for(shared_emulator), list(STREAMS))
    return output, shared_emulator.requests


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_given_the_whole_organization_when_full_refresh_then_records_equal_ground_truth(full_sync, shared_dataset, name):
    output, _ = full_sync
    records = records_of(output, name)
    expected = ground_truth(shared_dataset, name)
    assert len(records) == len(expected)
    assert Counter(map(str, ids_of(records))) == Counter(map(str, ids_of(expected)))
    by_id = {str(record["id"]): record for record in records}
    assert all(by_id[str(row["id"])] == row for row in expected), "records differ from the API's JSON"


def test_full_refresh_ends_without_errors_and_reports_each_stream_complete(full_sync):
    output, _ = full_sync
    assert output.errors == []
    for name in STREAMS:
        assert [status.name for status in output.get_stream_statuses(name)] == ["STARTED", "RUNNING", "COMPLETE"]


def test_full_refresh_request_counts(full_sync, shared_dataset):
    """Counts per endpoint: events and issues cut 90 days into 30-day windows per project."""
    _, requests = full_sync
    counts = Counter(request.path.rstrip("/").rsplit("/", 1)[-1] for request in requests)
    projects = len(shared_dataset.projects)
    assert counts["events"] == projects * 3
    assert counts["issues"] == projects * 3
    assert counts["releases"] == sum(1 for status in ("open", "archived") for _ in range(-(-sum(1 for r in shared_dataset.releases if r["_status"] == status) // 100)))
    assert all(request.status == 200 for request in requests)
    for request in requests:
        assert "query" in request.query or not request.path.endswith("/issues/"), "issues must never rely on Sentry's default query"


def test_releases_of_every_status_are_synced(full_sync, shared_dataset):
    output, _ = full_sync
    statuses = Counter(record["status"] for record in records_of(output, "releases"))
    assert statuses == Counter(release["_status"] for release in shared_dataset.releases)
    assert statuses["archived"] > 0


def test_issues_of_every_status_are_synced(full_sync, shared_dataset):
    output, _ = full_sync
    statuses = Counter(record["status"] for record in records_of(output, "issues"))
    assert set(statuses) == {"unresolved", "resolved", "ignored"}


def test_events_are_requested_full_within_pinned_windows(full_sync):
    _, requests = full_sync
    events = [request for request in requests if request.path.endswith("/events/")]
    assert events and all(request.query["full"] == ["true"] for request in events)
    assert all("start" in request.query and "end" in request.query for request in events)

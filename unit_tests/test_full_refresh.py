"""Full refresh emits every record the API holds, exactly once."""
from collections import Counter

import pytest

from harness import ISSUE_WINDOW_BOUNDS, STREAMS, config_for, ground_truth, key_of, read, records_of


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
    assert len(records) == len(expected) > 0
    assert Counter(key_of(name, r) for r in records) == Counter(key_of(name, r) for r in expected)
    if name == "issues":  # read in one window, the one the requests name
        _, requests = full_sync
        windows = {(r.query["start"][0], r.query["end"][0]) for r in requests if r.path.endswith("/issues/")}
        assert len(windows) == 1 and {(r["windowStart"], r["windowEnd"]) for r in records} == windows
        records = [{k: v for k, v in r.items() if k not in ISSUE_WINDOW_BOUNDS} for r in records]
    by_key = {key_of(name, record): record for record in records}
    assert all(by_key[key_of(name, row)] == row for row in expected), "records differ from the API's JSON"


def test_full_refresh_ends_without_errors_and_reports_each_stream_complete(full_sync):
    output, _ = full_sync
    assert output.errors == []
    for name in STREAMS:
        assert [status.name for status in output.get_stream_statuses(name)] == ["STARTED", "RUNNING", "COMPLETE"]


def test_full_refresh_request_counts(full_sync, shared_dataset):
    """One request per page and partition, nothing repeated."""
    _, requests = full_sync
    # the organization's events: the count of events per project (projects.py), errors and issuePlatform
    assert sorted(r.query["dataset"][0] for r in requests if r.path == "/api/0/organizations/acme/events/") == ["errors", "issuePlatform"]
    counts = Counter(request.path.rstrip("/").rsplit("/", 1)[-1] for request in requests if request.path != "/api/0/organizations/acme/events/")
    projects = len(shared_dataset.projects)
    release_pages = -(-len(shared_dataset.releases) // 100)  # one listing of every status
    # one window per project holds the default 90 days: its pages, nothing more
    assert counts["events"] == sum(-(-len(events) // 100) for events in shared_dataset.events.values()) == projects * 3
    assert counts["issues"] == sum(-(-len(issues) // 100) for issues in shared_dataset.issues.values()) == projects * 3
    assert counts["releases"] == 2 * release_pages  # the releases stream, and the parent of release_deploys
    assert counts["deploys"] == sum(1 for r in shared_dataset.releases if r["deployCount"]) == len(shared_dataset.deploys)
    assert counts["stats_v2"] in (89, 90)  # one per day of Sentry's 90-day retention
    assert counts["keys"] == counts["environments"] == projects
    assert counts["teams"] == counts["members"] == 1
    assert all(request.status == 200 for request in requests)
    repeated = Counter((r.path, tuple(sorted((k, tuple(v)) for k, v in r.query.items()))) for r in requests)
    assert [key for key, count in repeated.items() if count > 1 and "releases" not in key[0] and "/projects/" not in key[0]] == []
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
    events = [request for request in requests if request.path.endswith("/events/") and request.path.startswith("/api/0/projects/")]
    assert events and all(request.query["full"] == ["true"] for request in events)
    assert all("start" in request.query and "end" in request.query for request in events)


@pytest.mark.parametrize("name", ["events", "issues"])
def test_given_a_start_date_beyond_one_window_when_reading_then_91_day_windows_cover_it_back_to_back(emulator, name):
    """A longer history (self-hosted retention) is read in 91-day windows, each sent as [start, end + 1 s)."""
    from datetime import datetime, timedelta, timezone

    start = (datetime.now(timezone.utc) - timedelta(days=200)).replace(microsecond=0)
    output = read(config_for(emulator, start_date=start.strftime("%Y-%m-%dT%H:%M:%SZ")), [name])

    records, expected = records_of(output, name), ground_truth(emulator.dataset, name)
    if name == "events":
        assert Counter(key_of(name, r) for r in records) == Counter(key_of(name, r) for r in expected)
    else:  # an issue with events in two windows is listed in both, each record as of its window
        assert {key_of(name, r) for r in records} == {key_of(name, r) for r in expected}
        assert len(records) == len({(r["id"], r["windowStart"]) for r in records})
    project = emulator.dataset.projects[0]
    windows = sorted({(r.query["start"][0], r.query["end"][0]) for r in emulator.requests if r.path.endswith(f"/{name}/")
                      and (name == "events" and f"/{project['slug']}/" in r.path or r.query.get("project") == [str(project["id"])])})
    bounds = [(datetime.fromisoformat(s.replace("Z", "+00:00")), datetime.fromisoformat(e.replace("Z", "+00:00"))) for s, e in windows]
    assert len(bounds) == 3 and bounds[0][0] == start
    assert [end - begin for begin, end in bounds[:2]] == [timedelta(days=91)] * 2
    assert all(previous[1] == following[0] for previous, following in zip(bounds, bounds[1:]))  # no gap, no overlap

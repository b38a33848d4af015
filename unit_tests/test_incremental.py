"""Incremental syncs: everything new or seen since the saved state, nothing older, state per partition."""
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from airbyte_cdk.models import SyncMode

from conftest import NOW
from harness import config_for, final_state, ground_truth, read, records_of, state_for
from sentry_emulator.dataset import build_dataset, new_event, new_issue, new_release, parse_datetime

SIZES = dict(organization="acme", projects=2, events_per_project=150, issues_per_project=120, releases=160)
CURSOR = {"events": "dateCreated", "issues": "lastSeen", "releases": "dateCreated", "projects": "dateCreated"}


def partition_of(name, row):
    if name == "events":
        return str(row["projectID"])
    if name == "issues":
        return str(row["project"]["id"])
    return "-"  # releases: one listing of every status


def whole_second(value: str) -> datetime:
    return parse_datetime(value).replace(microsecond=0)


def expected_after(name, rows, previous):
    """Records at or after the newest cursor value each partition had in the previous sync
    (state is kept to the second, and the boundary second is read again)."""
    newest = defaultdict(lambda: datetime.min.replace(tzinfo=timezone.utc))
    for row in previous:
        newest[partition_of(name, row)] = max(newest[partition_of(name, row)], whole_second(row[CURSOR[name]]))
    return [row for row in rows if parse_datetime(row[CURSOR[name]]) >= newest[partition_of(name, row)]]


def ids(rows):
    return Counter(str(row["id"]) for row in rows)


def insert_new_records(emulator, dataset, name):
    """Inserts (or, for issues, also re-touches) records after the first sync; returns their ids."""
    moment = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    if name == "events":
        return [emulator.add_event(slug, new_event(dataset, slug, moment))["id"] for slug in ("web", "api")]
    if name == "issues":
        fresh = emulator.add_issue("web", new_issue(dataset, "web", moment))
        resolved = next(issue for issue in dataset.issues["api"] if issue["status"] == "resolved")
        emulator.add_issue_event(resolved["id"], moment)  # seen again: a new event reopens it
        emulator.update_issue(resolved["id"], status="unresolved")
        return [fresh["id"], resolved["id"]]
    if name == "releases":
        return [emulator.add_release(new_release(dataset, moment, status))["id"] for status in ("open", "archived")]
    return []


@pytest.mark.parametrize("name", ["events", "issues", "releases", "projects"])
def test_given_a_first_sync_when_syncing_again_then_only_new_and_boundary_records_are_read(emulator_factory, name):
    dataset = build_dataset(now=NOW, **SIZES)
    emulator = emulator_factory(dataset)
    config = config_for(emulator)

    first = read(config, [name], SyncMode.incremental)
    first_records = records_of(first, name)
    assert ids(first_records) == ids(ground_truth(dataset, name))
    state = final_state(first, name)

    inserted = insert_new_records(emulator, dataset, name)
    emulator.clear_log()
    second = read(config, [name], SyncMode.incremental, state=state_for({name: state}))

    second_records = records_of(second, name)
    assert ids(second_records) == ids(expected_after(name, ground_truth(dataset, name), first_records))
    assert set(map(str, inserted)) <= set(ids(second_records))
    assert len(second_records) <= len(inserted) + 4, "an incremental sync must not re-read history"
    assert second.errors == []


# events, issues: no project is read, the count of events per project says nothing changed (projects.py)
@pytest.mark.parametrize("name, partitions", [("events", 0), ("issues", 0), ("releases", 1)])
def test_given_no_new_data_when_syncing_again_then_one_request_per_partition(emulator_factory, name, partitions):
    emulator = emulator_factory(build_dataset(now=NOW, **SIZES))
    config = config_for(emulator)
    state = final_state(read(config, [name], SyncMode.incremental), name)
    emulator.clear_log()
    read(config, [name], SyncMode.incremental, state=state_for({name: state}))
    calls = [r for r in emulator.requests if r.path.endswith(f"/{name}/") and r.path != "/api/0/organizations/acme/events/"]
    assert len(calls) == partitions  # one per project; releases are one listing


def test_state_is_kept_per_project_at_its_newest_record(emulator_factory):
    dataset = build_dataset(now=NOW, **SIZES)
    emulator = emulator_factory(dataset)
    output = read(config_for(emulator), ["events"], SyncMode.incremental)
    state = final_state(output, "events")
    by_project = {entry["partition"]["project"]: entry["cursor"]["dateCreated"] for entry in state["states"]}
    for slug in ("web", "api"):
        newest = max(parse_datetime(event["dateCreated"]) for event in dataset.events[slug])
        assert by_project[slug] == newest.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {entry["partition"]["project"] for entry in state["states"]} == {"web", "api"}


def test_given_a_state_saved_mid_sync_when_resuming_then_the_rest_is_read(emulator_factory):
    """One project done up to a point, the other not started: each resumes from its own position."""
    dataset = build_dataset(now=NOW, **SIZES)
    emulator = emulator_factory(dataset)
    events = sorted(dataset.events["web"], key=lambda event: event["dateCreated"])
    middle = events[len(events) // 2]["dateCreated"]
    state = {
        "states": [{"partition": {"parent_slice": {"project_slug": "*"}, "project": "web"}, "cursor": {"dateCreated": middle}}],
    }
    output = read(config_for(emulator), ["events"], SyncMode.incremental, state=state_for({"events": state}))
    expected = [e for e in dataset.events["web"] if e["dateCreated"] >= middle] + dataset.events["api"]
    assert ids(records_of(output, "events")) == ids(expected)


def test_cursor_values_are_compared_as_datetimes_not_strings(emulator_factory):
    """'...:00Z' sorts after '...:00.500000Z' as text; a release created half a second after the
    saved state must still be read, and one created before it must not. (Releases: Sentry's issue
    lastSeen, read over a window, has whole seconds.)"""
    dataset = build_dataset(now=NOW, organization="acme", projects=1, events_per_project=5, issues_per_project=5, releases=4)
    emulator = emulator_factory(dataset)
    saved = (NOW - timedelta(days=1)).replace(microsecond=0)
    after = emulator.add_release(new_release(dataset, saved + timedelta(microseconds=500000)))
    before = emulator.add_release(new_release(dataset, saved - timedelta(microseconds=1000)))
    assert after["dateCreated"].endswith(":%02d.500000Z" % saved.second)
    state = {"dateCreated": saved.strftime("%Y-%m-%dT%H:%M:%SZ")}
    output = read(config_for(emulator), ["releases"], SyncMode.incremental, state=state_for({"releases": state}))
    seen = set(ids(records_of(output, "releases")))
    assert str(after["id"]) in seen
    assert str(before["id"]) not in seen


def test_given_a_project_added_to_the_selection_when_syncing_again_then_its_whole_history_is_read(emulator_factory):
    dataset = build_dataset(now=NOW, organization="acme", projects=3, events_per_project=60, issues_per_project=10, releases=3)
    emulator = emulator_factory(dataset)
    first = read(config_for(emulator, projects=["web"]), ["events"], SyncMode.incremental)
    state = state_for({"events": final_state(first, "events")})
    second = read(config_for(emulator, projects=["web", "api"]), ["events"], SyncMode.incremental, state=state)
    synced = records_of(second, "events")
    assert ids([e for e in synced if e["projectID"] == dataset.projects[1]["id"]]) == ids(dataset.events["api"])
    # web had no new event: its count of events did not change, it is not read (projects.py)
    assert [e for e in synced if e["projectID"] == dataset.projects[0]["id"]] == []


def test_given_a_selection_when_switching_to_the_whole_organization_then_state_is_kept_per_project(emulator_factory):
    dataset = build_dataset(now=NOW, organization="acme", projects=3, events_per_project=60, issues_per_project=10, releases=3)
    emulator = emulator_factory(dataset)
    first = read(config_for(emulator, projects=["web", "api"]), ["events"], SyncMode.incremental)
    second = read(config_for(emulator), ["events"], SyncMode.incremental, state=state_for({"events": final_state(first, "events")}))
    synced = records_of(second, "events")
    assert ids([e for e in synced if e["projectID"] == dataset.projects[2]["id"]]) == ids(dataset.events["worker"])
    assert len(synced) == len(dataset.events["worker"])  # web and api: no new event, not read (projects.py)

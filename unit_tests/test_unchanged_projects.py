"""A sync with nothing new reads no project (source_sentry/projects.py SkipUnchangedProjects): one
organization-level count of events per project decides which projects the events stream reads."""
from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from airbyte_cdk.models import SyncMode

from conftest import NOW
from harness import config_for, final_state, read, records_of, state_for
from sentry_emulator.dataset import build_dataset, new_event, parse_datetime

SIZES = dict(organization="acme", projects=12, events_per_project=6, issues_per_project=1, releases=2)
CHECK = "/api/0/organizations/acme/events/"


def per_endpoint(requests) -> Counter:
    return Counter(re.sub(r"^/api/0/projects/acme/[^/]+/", "/api/0/projects/acme/{slug}/", r.path) for r in requests)


def cursors(state):
    return {entry["partition"]["project"]: entry["cursor"]["dateCreated"] for entry in state["states"]}


def synced(emulator):
    """An emulator after a first incremental sync of events: (config, its state)."""
    config = config_for(emulator)
    first = read(config, ["events"], SyncMode.incremental)
    assert first.errors == [] and len(records_of(first, "events")) == 12 * 6
    emulator.clear_log()
    return config, final_state(first, "events")


@pytest.fixture
def emulator(emulator_factory):
    return emulator_factory(build_dataset(now=NOW, **SIZES))


def test_given_nothing_new_when_syncing_then_two_requests_and_every_project_keeps_its_state(emulator):
    config, state = synced(emulator)

    second = read(config, ["events"], SyncMode.incremental, state=state_for({"events": state}))

    assert second.errors == [] and records_of(second, "events") == []
    # before: the selection + one events request per project (13)
    assert per_endpoint(emulator.requests) == {"/api/0/organizations/acme/projects/": 1, CHECK: 1}
    check = next(r for r in emulator.requests if r.path == CHECK)
    assert check.query["dataset"] == ["errors"] and check.query["field"] == ["project.id", "count()"]
    assert check.query["project"] == ["-1"]
    after = final_state(second, "events")
    assert cursors(after) == cursors(state)
    assert after["parent_state"]["project_activity"]["counts"] == state["parent_state"]["project_activity"]["counts"]


def test_given_new_events_in_two_projects_when_syncing_then_only_those_are_read_a_late_one_included(emulator):
    config, state = synced(emulator)
    dataset = emulator.dataset
    web, api = dataset.projects[0]["slug"], dataset.projects[1]["slug"]
    fresh = emulator.add_event(web, new_event(dataset, web, datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=2)))
    # stored late: its timestamp is older than the first sync, one second after api's newest event
    late_time = parse_datetime(cursors(state)[api]) + timedelta(seconds=1)
    late = emulator.add_event(api, new_event(dataset, api, late_time))

    second = read(config, ["events"], SyncMode.incremental, state=state_for({"events": state}))

    assert second.errors == []
    read_projects = {re.match(r"/api/0/projects/acme/([^/]+)/", r.path).group(1) for r in emulator.requests if r.path.endswith("/events/") and r.path != CHECK}
    assert read_projects == {web, api}
    assert per_endpoint(emulator.requests) == {"/api/0/organizations/acme/projects/": 1, CHECK: 1, "/api/0/projects/acme/{slug}/events/": 2}
    boundary = {e["id"] for slug in (web, api) for e in dataset.events[slug] if e["dateCreated"][:19] == cursors(state)[slug][:19]}
    assert {r["id"] for r in records_of(second, "events")} == {fresh["id"], late["id"]} | boundary
    after = cursors(final_state(second, "events"))
    assert {slug for slug in after if after[slug] != cursors(state)[slug]} == {web, api}

    third = read(config, ["events"], SyncMode.incremental, state=state_for({"events": final_state(second, "events")}))
    assert third.errors == [] and records_of(third, "events") == []


def test_given_a_project_without_saved_state_when_syncing_then_its_whole_history_is_read(emulator):
    config, state = synced(emulator)
    joined = emulator.dataset.projects[2]["slug"]
    state = {**state, "states": [entry for entry in state["states"] if entry["partition"]["project"] != joined]}

    second = read(config, ["events"], SyncMode.incremental, state=state_for({"events": state}))

    assert second.errors == []
    assert {r["id"] for r in records_of(second, "events")} == {e["id"] for e in emulator.dataset.events[joined]}
    assert per_endpoint(emulator.requests)["/api/0/projects/acme/{slug}/events/"] == 1


def test_given_a_failing_check_when_syncing_then_every_project_is_read(emulator):
    config, state = synced(emulator)
    emulator.set_feature("global-views", False)  # Sentry: 400 You cannot view events from multiple projects.

    second = read(config, ["events"], SyncMode.incremental, state=state_for({"events": state}))

    assert second.errors == []
    assert per_endpoint(emulator.requests)["/api/0/projects/acme/{slug}/events/"] == 12
    assert [r.status for r in emulator.requests if r.path == CHECK] == [400]
    warnings = [m.log.message for m in second.logs if m.log.message.startswith("Stream 'events': could not count")]
    assert warnings and "every project is read" in warnings[0]
    # only the boundary second of each project is read again, as without the check
    assert len(records_of(second, "events")) == sum(
        1 for slug, events in emulator.dataset.events.items() for e in events if e["dateCreated"][:19] == cursors(state)[slug][:19])


@pytest.mark.waits(seconds=13)
def test_given_a_project_whose_read_failed_when_syncing_again_then_it_is_read_and_its_new_event_arrives(emulator):
    """A project's new count joins the router's state only once its partition is read: a failed
    project is not taken for an unchanged one by the next sync."""
    config, state = synced(emulator)
    dataset = emulator.dataset
    web, api = dataset.projects[0]["slug"], dataset.projects[1]["slug"]
    moment = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=2)
    fresh = {slug: emulator.add_event(slug, new_event(dataset, slug, moment))["id"] for slug in (web, api)}
    emulator.faults.add(rf"^/api/0/projects/acme/{web}/events/$", "500")

    failed = read(config, ["events"], SyncMode.incremental, state=state_for({"events": state}), expect_failure=True)

    assert failed.errors and fresh[api] in {r["id"] for r in records_of(failed, "events")}
    emulator.faults.clear()
    emulator.clear_log()
    third = read(config, ["events"], SyncMode.incremental, state=state_for({"events": final_state(failed, "events")}))

    assert third.errors == []
    assert fresh[web] in {r["id"] for r in records_of(third, "events")}
    read_projects = {re.match(r"/api/0/projects/acme/([^/]+)/", r.path).group(1) for r in emulator.requests if r.path.endswith("/events/") and r.path != CHECK}
    assert web in read_projects


def test_given_nothing_new_when_syncing_events_and_issues_then_three_requests(emulator):
    config = config_for(emulator)
    first = read(config, ["events", "issues"], SyncMode.incremental)
    assert first.errors == []
    states = {name: final_state(first, name) for name in ("events", "issues")}
    emulator.clear_log()

    second = read(config, ["events", "issues"], SyncMode.incremental, state=state_for(states))

    assert second.errors == [] and second.records == []
    # before: the selection twice, one events and one issues request per project (26)
    assert sorted((r.path, r.query.get("dataset", [""])[0]) for r in emulator.requests) == [
        (CHECK, "errors"), (CHECK, "issuePlatform"), ("/api/0/organizations/acme/projects/", "")]
    assert final_state(second, "issues")["states"] == states["issues"]["states"]


def test_given_an_issue_seen_again_when_syncing_issues_then_only_its_project_is_read(emulator):
    config = config_for(emulator)
    first = read(config, ["issues"], SyncMode.incremental)
    state = final_state(first, "issues")
    api = emulator.dataset.projects[1]
    issue = emulator.dataset.issues[api["slug"]][0]
    emulator.add_issue_event(issue["id"], datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=2))
    emulator.clear_log()

    second = read(config, ["issues"], SyncMode.incremental, state=state_for({"issues": state}))

    assert second.errors == []
    listings = [r for r in emulator.requests if r.path == "/api/0/organizations/acme/issues/"]
    assert [r.query["project"] for r in listings] == [[str(api["id"])]]
    boundary = {entry["cursor"]["lastSeen"] for entry in state["states"] if entry["partition"]["project"] == api["slug"]}
    synced = {str(r["id"]) for r in records_of(second, "issues")}
    assert str(issue["id"]) in synced
    assert synced - {str(issue["id"])} <= {str(i["id"]) for i in emulator.dataset.issues[api["slug"]] if i["lastSeen"][:19] + "Z" in boundary}


def test_given_a_project_quiet_for_longer_than_the_count_window_then_it_is_skipped_too(emulator_factory):
    """Its saved cursor is older than the window counted: no event can be stored with a timestamp
    that old any more (Relay gives an event more than 30 days old its arrival time), so an unchanged
    count still says nothing is new."""
    dataset = build_dataset(now=NOW, **SIZES)
    quiet = dataset.projects[3]["slug"]
    dataset.events[quiet] = [e for e in dataset.events[quiet] if parse_datetime(e["dateCreated"]) < NOW - timedelta(days=70)] or dataset.events[quiet][:1]
    for event in dataset.events[quiet]:
        event["dateCreated"] = min(event["dateCreated"], (NOW - timedelta(days=75)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    emulator = emulator_factory(dataset)
    config = config_for(emulator)
    first = read(config, ["events"], SyncMode.incremental)
    state = final_state(first, "events")
    assert cursors(state)[quiet] < (NOW - timedelta(days=61)).strftime("%Y-%m-%dT%H:%M:%SZ")
    emulator.clear_log()

    second = read(config, ["events"], SyncMode.incremental, state=state_for({"events": state}))

    assert second.errors == [] and records_of(second, "events") == []
    assert per_endpoint(emulator.requests) == {"/api/0/organizations/acme/projects/": 1, CHECK: 1}

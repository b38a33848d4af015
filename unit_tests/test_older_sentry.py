"""Older self-hosted Sentry: the streams are right where the API behaved differently
(sentry_emulator/server/versions.py names each behaviour, its version and its source)."""
from collections import Counter
from datetime import datetime, timedelta, timezone

from airbyte_cdk.models import SyncMode

from conftest import NOW
from harness import config_for, final_state, ground_truth, key_of, read, records_of, state_for
from sentry_emulator.dataset import build_dataset, format_datetime, new_event, new_release, parse_datetime
from sentry_emulator.server.access import TokenUser

SIZES = dict(organization="acme", projects=2, events_per_project=230, issues_per_project=20, releases=240)
# A user in every team: what is tested here is the version, not project membership (test_project_access.py).
IN_EVERY_TEAM = TokenUser(teams=frozenset({"frontend", "backend"}))


def keys(name, rows):
    return Counter(key_of(name, row) for row in rows)


def event_requests(emulator, slug):
    return [r for r in emulator.requests if r.path.endswith(f"/{slug}/events/")]


def test_given_a_sentry_that_ignores_event_dates_then_only_events_of_the_window_are_emitted(emulator_factory):
    """Before 25.8.0 the project events endpoint ignores start/end and lists all of retention."""
    dataset = build_dataset(now=NOW, **SIZES)
    emulator = emulator_factory(dataset, sentry_version="25.7.0", user=IN_EVERY_TEAM)
    start = (NOW - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = config_for(emulator, start_date=start)

    first = read(config, ["events"], SyncMode.incremental)
    expected = [e for e in ground_truth(dataset, "events") if e["dateCreated"] >= start]
    assert 0 < len(expected) < len(ground_truth(dataset, "events"))
    assert keys("events", records_of(first, "events")) == keys("events", expected)

    moment = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    added = [emulator.add_event(slug, new_event(dataset, slug, moment))["id"] for slug in ("web", "api")]
    emulator.clear_log()
    second = read(config, ["events"], SyncMode.incremental, state=state_for({"events": final_state(first, "events")}))
    newest = {slug: max(e["dateCreated"][:19] for e in records_of(first, "events") if e["projectID"] == p["id"])
              for slug, p in zip(("web", "api"), dataset.projects)}
    boundary = [e["id"] for slug, p in zip(("web", "api"), dataset.projects) for e in dataset.events[slug]
                if e["dateCreated"][:19] == newest[slug]]
    assert sorted(r["id"] for r in records_of(second, "events")) == sorted(added + boundary)
    # the listing is newest first: paging stops at the first page that begins before the window
    assert [len(event_requests(emulator, slug)) for slug in ("web", "api")] == [2, 2]


def test_given_a_sentry_that_ignores_event_dates_when_a_window_is_read_then_no_event_outside_it_is_emitted(emulator_factory):
    """91-day windows over a longer history: each record lies in the window it was read in."""
    dataset = build_dataset(now=NOW, **SIZES)
    emulator = emulator_factory(dataset, sentry_version="25.7.0", user=IN_EVERY_TEAM)
    start = (datetime.now(timezone.utc) - timedelta(days=200)).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    output = read(config_for(emulator, start_date=start, projects=["web"]), ["events"])
    assert keys("events", records_of(output, "events")) == keys("events", ground_truth(dataset, "events", ["web"]))


def test_given_a_sentry_with_an_inclusive_stats_end_then_each_daily_row_counts_one_day(emulator_factory):
    """Before 23.12.0 stats_v2 adds one second to an explicit end: a day ending at midnight is two days."""
    dataset = build_dataset(now=NOW, organization="acme", projects=2, events_per_project=30, issues_per_project=3, releases=3)
    emulator = emulator_factory(dataset, sentry_version="23.11.0", user=IN_EVERY_TEAM)
    records = records_of(read(config_for(emulator), ["organization_stats"]), "organization_stats")
    expected = ground_truth(dataset, "organization_stats")
    assert {(key_of("organization_stats", r), r["quantity"]) for r in records} == {
        (key_of("organization_stats", r), r["quantity"]) for r in expected}
    assert all(r.query["end"][0].endswith("T23:59:59Z") for r in emulator.requests if r.path.endswith("/stats_v2/"))


def test_given_the_current_sentry_then_the_same_daily_rows_are_read(emulator_factory):
    dataset = build_dataset(now=NOW, organization="acme", projects=2, events_per_project=30, issues_per_project=3, releases=3)
    emulator = emulator_factory(dataset, user=IN_EVERY_TEAM)
    records = records_of(read(config_for(emulator), ["organization_stats"]), "organization_stats")
    assert {(key_of("organization_stats", r), r["quantity"]) for r in records} == {
        (key_of("organization_stats", r), r["quantity"]) for r in ground_truth(dataset, "organization_stats")}


def test_given_a_sentry_that_orders_releases_by_release_date_when_syncing_again_then_no_new_release_is_missed(emulator_factory):
    """Up to 21.5.x releases are ordered by COALESCE(dateReleased, dateCreated): a new release can
    come after older releases that were released (finalized) since it was created."""
    dataset = build_dataset(now=NOW, **SIZES)
    emulator = emulator_factory(dataset, sentry_version="21.5.0", user=IN_EVERY_TEAM)
    config = config_for(emulator)
    first = read(config, ["releases"], SyncMode.incremental)
    assert keys("releases", records_of(first, "releases")) == keys("releases", ground_truth(dataset, "releases"))
    state = final_state(first, "releases")

    now = datetime.now(timezone.utc).replace(microsecond=0)
    fresh = emulator.add_release(new_release(dataset, now - timedelta(seconds=10)))
    for release in sorted(dataset.releases, key=lambda r: r["dateCreated"])[:120]:
        release["dateReleased"] = format_datetime(now - timedelta(seconds=1))  # finalized later
    emulator.invalidate_cache()
    emulator.clear_log()

    second = read(config, ["releases"], SyncMode.incremental, state=state_for({"releases": state}))
    saved = parse_datetime(state["dateCreated"])
    expected = [r["id"] for r in dataset.releases if parse_datetime(r["dateCreated"]) >= saved]
    assert fresh["id"] in expected
    assert sorted(r["id"] for r in records_of(second, "releases")) == sorted(expected)


def test_given_a_sentry_that_orders_releases_by_release_date_when_nothing_is_new_then_one_request_is_made(emulator_factory):
    dataset = build_dataset(now=NOW, **SIZES)
    emulator = emulator_factory(dataset, sentry_version="21.5.0", user=IN_EVERY_TEAM)
    config = config_for(emulator)
    state = final_state(read(config, ["releases"], SyncMode.incremental), "releases")
    emulator.clear_log()
    read(config, ["releases"], SyncMode.incremental, state=state_for({"releases": state}))
    assert len([r for r in emulator.requests if r.path.endswith("/releases/")]) == 1

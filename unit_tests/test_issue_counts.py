"""Issue counts: Sentry computes an issue's top-level count, userCount, firstSeen and lastSeen over
the request's window and its totals in `lifetime`; the records carry the totals at the top and the
window's figures as window* (src/sentry/api/serializers/models/group_stream.py
StreamGroupSerializerSnuba)."""
from datetime import datetime, timedelta, timezone

from airbyte_cdk.models import SyncMode

from conftest import NOW
from harness import config_for, final_state, read, records_of, second, state_for, synced_issue
from sentry_emulator.dataset import build_dataset, parse_datetime

SIZES = dict(organization="acme", projects=1, events_per_project=200, issues_per_project=20, releases=3)


def test_given_an_old_issue_seen_again_when_syncing_again_then_it_carries_its_all_time_count_and_first_seen(emulator_factory):
    dataset = build_dataset(now=NOW, **SIZES)
    emulator = emulator_factory(dataset)
    config = config_for(emulator)
    first = read(config, ["issues"], SyncMode.incremental)
    old = max(dataset.issues["web"], key=lambda issue: int(issue["count"]))
    before = next(r for r in records_of(first, "issues") if r["id"] == old["id"])
    assert before["count"] == old["count"] and int(old["count"]) > 5
    assert parse_datetime(old["firstSeen"]) < NOW - timedelta(days=20)

    seen_again = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    emulator.add_issue_event(old["id"], seen_again, user="id:someone-new")
    emulator.clear_log()
    second_sync = read(config, ["issues"], SyncMode.incremental, state=state_for({"issues": final_state(first, "issues")}))

    (record,) = [r for r in records_of(second_sync, "issues") if r["id"] == old["id"]]
    (request,) = [r for r in emulator.requests if r.path.endswith("/issues/")]
    window = (request.query["start"][0], request.query["end"][0])
    assert record == synced_issue(old, window)
    # spelled out: the totals at the top, the window's figures under window*
    assert record["count"] == str(int(before["count"]) + 1) == record["lifetime"]["count"]
    assert record["firstSeen"] == before["firstSeen"] == old["firstSeen"]
    assert record["userCount"] == before["userCount"] + 1
    assert record["lastSeen"] == record["windowFirstSeen"] == second(int(seen_again.timestamp()))
    assert (record["windowCount"], record["windowUserCount"]) == ("1", 1)
    assert (record["windowStart"], record["windowEnd"]) == window


def test_given_issues_read_in_several_windows_then_each_record_names_its_window(emulator):
    """A start date beyond one window: each record's window* figures and bounds are its request's."""
    start = (datetime.now(timezone.utc) - timedelta(days=200)).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    output = read(config_for(emulator, start_date=start, projects=["web"]), ["issues"])
    records = records_of(output, "issues")
    windows = {(r.query["start"][0], r.query["end"][0]) for r in emulator.requests if r.path.endswith("/issues/")}
    assert len(windows) == 3 and {(r["windowStart"], r["windowEnd"]) for r in records} <= windows
    by_id = {issue["id"]: issue for issue in emulator.dataset.issues["web"]}
    for record in records:
        expected = synced_issue(by_id[record["id"]], (record["windowStart"], record["windowEnd"]))
        assert record == expected

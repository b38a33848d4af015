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


def _builder_add_fields():
    """The Builder edition's AddFields for the issues stream, built by the CDK's own factory."""
    import importlib.util
    from pathlib import Path

    from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory
    from airbyte_cdk.sources.declarative.models.declarative_component_schema import AddFields as AddFieldsModel

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("build_builder_manifest", root / "scripts" / "build_builder_manifest.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    definition = generator.CUSTOM_COMPONENTS["source_sentry.components.IssueWindowAndTotals"]({})
    return ModelToComponentFactory().create_component(AddFieldsModel, definition, config={})


def test_given_an_issue_then_the_component_sets_what_the_builders_eight_add_fields_set():
    """IssueWindowAndTotals (dictionary copies) and the Builder edition's AddFields (a Jinja render
    per field) give the same record, value for value and type for type, in the same key order."""
    from airbyte_cdk.sources.types import StreamSlice

    from source_sentry.components import IssueWindowAndTotals

    issue = {"id": "7", "count": "3", "userCount": 2, "firstSeen": "2026-11-30T10:00:00Z", "lastSeen": "2026-12-01T08:00:05Z",
             "lifetime": {"count": "41", "userCount": 9, "firstSeen": "2026-09-03T10:00:00.250000Z", "lastSeen": "2026-12-01T09:00:00Z"},
             "filtered": None}
    window = StreamSlice(partition={"project": "web"}, cursor_slice={"start_time": "2026-09-02T00:00:00Z", "end_time": "2026-12-01T08:59:59Z"})
    ours, theirs = dict(issue), dict(issue)
    IssueWindowAndTotals().transform(ours, config={}, stream_slice=window)
    _builder_add_fields().transform(theirs, config={}, stream_slice=window)
    assert ours == theirs and list(ours) == list(theirs)
    assert {key: (value, type(value)) for key, value in ours.items() if key not in issue or key in ("count", "userCount", "firstSeen")} == {
        "windowStart": ("2026-09-02T00:00:00Z", str), "windowEnd": ("2026-12-01T09:00:00Z", str),
        "windowCount": ("3", str), "windowUserCount": (2, int), "windowFirstSeen": ("2026-11-30T10:00:00Z", str),
        "count": ("41", str), "userCount": (9, int), "firstSeen": ("2026-09-03T10:00:00.250000Z", str),
    }


def test_given_null_figures_or_no_lifetime_then_nulls_stay_null_and_no_lifetime_fails_naming_the_issue():
    """A null figure stays null (the Builder's Jinja writes the text "None"); an issue without
    `lifetime` (Sentry before dynamic issue counts) fails the read, as the AddFields did."""
    import pytest
    from airbyte_cdk.sources.types import StreamSlice

    from source_sentry.components import IssueWindowAndTotals

    window = StreamSlice(partition={}, cursor_slice={"start_time": "2026-09-02T00:00:00Z", "end_time": "2026-12-01T08:59:59Z"})
    record = {"id": "7", "count": "3", "userCount": None, "firstSeen": "2026-11-30T10:00:00Z",
              "lifetime": {"count": "5", "userCount": None, "firstSeen": None}}
    IssueWindowAndTotals().transform(record, config={}, stream_slice=window)
    assert (record["count"], record["userCount"], record["firstSeen"]) == ("5", None, None)
    assert (record["windowCount"], record["windowUserCount"], record["windowFirstSeen"]) == ("3", None, "2026-11-30T10:00:00Z")
    with pytest.raises(ValueError, match=r"issue 8 without its all-time totals \(`lifetime`\)"):
        IssueWindowAndTotals().transform({"id": "8", "count": "1"}, config={}, stream_slice=window)

"""A saved state that is null, empty, malformed, legacy or from the future never crashes a sync."""
from collections import Counter

import pytest
from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer, SyncMode

from harness import catalog_for, config_for, ground_truth, read, records_of, run_cli, state_for, write_json

FLAT_STATE = {"dateCreated": "2026-01-01T00:00:00Z"}


def stream_state(value):
    return [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "events"}, "stream_state": value}}]


def sync_events(tmp_path, emulator, state):
    args = ["read", "--config", write_json(tmp_path / "config.json", config_for(emulator)),
            "--catalog", write_json(tmp_path / "catalog.json", ConfiguredAirbyteCatalogSerializer.dump(catalog_for(["events"], SyncMode.incremental)))]
    if state is not ...:
        args += ["--state", write_json(tmp_path / "state.json", state)]
    return run_cli(args)


def event_ids(messages):
    return Counter(m["record"]["data"]["id"] for m in messages if m["type"] == "RECORD")


def warnings(messages):
    return [m["log"]["message"] for m in messages if m["type"] == "LOG" and m["log"]["level"] == "WARN"]


@pytest.mark.parametrize(
    "state, warning",
    [
        (None, None),
        ([], None),
        ({}, None),
        (stream_state(None), None),
        (stream_state({}), None),
        (stream_state({"dateCreated": "not-a-date"}), "Ignoring the saved state of stream 'events' (dateCreated='not-a-date' is not a date-time)"),
        (stream_state({"dateCreated": 1700000000}), "Ignoring the saved state of stream 'events' (dateCreated=1700000000 is not a date-time)"),
        (stream_state({"dateCreated": "2999-01-01T00:00:00Z"}), "Ignoring the saved state of stream 'events' (dateCreated='2999-01-01T00:00:00Z' is in the future)"),
        (stream_state("garbage"), "Ignoring the saved state of stream 'events' (expected an object, got str)"),
        (stream_state({"states": "nope"}), "Ignoring the saved state of stream 'events' ('states' is not a list)"),
        ([{"type": "GLOBAL"}], "Ignoring a saved state entry that is not a per-stream state message"),
        ('"just text"', "Saved state is a str, not a list of state messages"),  # a JSON string
    ],
    ids=["null-file", "empty-list", "empty-object", "null-stream-state", "empty-stream-state", "bad-date", "number",
         "future", "string", "bad-states", "not-per-stream", "text"],
)
def test_given_an_unusable_state_when_reading_then_the_stream_syncs_from_the_start(tmp_path, shared_emulator, shared_dataset, state, warning):
    messages, code = sync_events(tmp_path, shared_emulator, state)
    assert code == 0
    assert [m for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"] == []
    assert event_ids(messages) == Counter(e["id"] for e in ground_truth(shared_dataset, "events"))
    if warning:
        assert any(message.startswith(warning) for message in warnings(messages)), warnings(messages)
        assert len([m for m in warnings(messages) if m.startswith(warning)]) == 1, "each problem is logged once"


@pytest.mark.parametrize("legacy", [
    stream_state(FLAT_STATE),  # the earlier Sentry connector's flat per-stream state
    {"events": FLAT_STATE},  # Airbyte's legacy one-object state
], ids=["flat-per-stream", "legacy-object"])
def test_given_a_state_of_the_earlier_connector_when_reading_then_it_applies_to_every_project(tmp_path, shared_emulator, shared_dataset, legacy):
    messages, code = sync_events(tmp_path, shared_emulator, legacy)
    assert code == 0
    expected = [e for e in ground_truth(shared_dataset, "events") if e["dateCreated"] >= FLAT_STATE["dateCreated"]]
    assert event_ids(messages) == Counter(e["id"] for e in expected)
    final = [m for m in messages if m["type"] == "STATE"][-1]["state"]["stream"]["stream_state"]
    assert {entry["partition"]["project"] for entry in final["states"]} == {"web", "api", "worker"}


def test_given_a_state_file_that_is_not_json_when_reading_then_one_clear_error(tmp_path, shared_emulator):
    messages, code = sync_events(tmp_path, shared_emulator, "{not json")
    assert code == 1
    assert [m["type"] for m in messages] == ["TRACE"]
    error = messages[0]["trace"]["error"]
    assert error["failure_type"] == "config_error"
    assert error["message"].startswith("Could not start the Sentry source: Could not read json file")


def per_status_releases_state(**cursors):
    """The releases state of version 1.0.0, which listed releases once per status."""
    entries = [{"partition": {"status": status}, "cursor": {"dateCreated": value}} for status, value in cursors.items()]
    return [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "releases"}, "stream_state": {
        "use_global_cursor": False, "states": entries, "state": {"dateCreated": max(cursors.values())}, "lookback_window": 1}}}]


def sync_releases(tmp_path, emulator, state):
    args = ["read", "--config", write_json(tmp_path / "config.json", config_for(emulator)),
            "--catalog", write_json(tmp_path / "catalog.json", ConfiguredAirbyteCatalogSerializer.dump(catalog_for(["releases"], SyncMode.incremental))),
            "--state", write_json(tmp_path / "state.json", state)]
    return run_cli(args)


def test_given_a_per_status_releases_state_when_reading_then_it_resumes_from_the_older_cursor(tmp_path, shared_emulator, shared_dataset):
    newest_first = sorted(ground_truth(shared_dataset, "releases"), key=lambda r: r["dateCreated"], reverse=True)
    older, newer = newest_first[60]["dateCreated"][:19] + "Z", newest_first[10]["dateCreated"][:19] + "Z"

    messages, code = sync_releases(tmp_path, shared_emulator, per_status_releases_state(open=newer, archived=older))

    assert code == 0
    emitted = Counter(m["record"]["data"]["id"] for m in messages if m["type"] == "RECORD")
    assert emitted == Counter(r["id"] for r in newest_first if r["dateCreated"][:19] + "Z" >= older)
    assert [m["log"]["message"] for m in messages if m["type"] == "LOG" and "per release status" in m["log"]["message"]] == [
        f"Saved state of stream 'releases' is per release status (version 1.0.0): resuming from the older cursor, {older}."]
    (state,) = [m["state"]["stream"]["stream_state"] for m in messages if m["type"] == "STATE"][-1:]
    assert state == {"dateCreated": newest_first[0]["dateCreated"][:19] + "Z"}


def test_given_a_per_status_releases_state_without_archived_when_reading_then_every_release_is_read(tmp_path, shared_emulator, shared_dataset):
    newest = max(r["dateCreated"] for r in shared_dataset.releases)[:19] + "Z"

    messages, code = sync_releases(tmp_path, shared_emulator, per_status_releases_state(open=newest))

    assert code == 0
    emitted = Counter(m["record"]["data"]["id"] for m in messages if m["type"] == "RECORD")
    assert emitted == Counter(r["id"] for r in ground_truth(shared_dataset, "releases"))
    assert warnings(messages) == ["Ignoring the saved state of stream 'releases' (it has no cursor for open and archived releases both): it syncs again from the start date."]


def test_given_an_unusable_state_handed_to_the_source_in_process_when_reading_then_it_is_checked_too(shared_emulator, shared_dataset):
    """The checks are the streams' state migrations, so a state that never was a file (PyAirbyte,
    an embedding application) is checked as well."""
    output = read(config_for(shared_emulator), ["events"], SyncMode.incremental, state=state_for({"events": {"dateCreated": "not-a-date"}}))

    assert output.errors == []
    assert Counter(r["id"] for r in records_of(output, "events")) == Counter(e["id"] for e in ground_truth(shared_dataset, "events"))
    assert "Ignoring the saved state of stream 'events' (dateCreated='not-a-date' is not a date-time): it syncs again from the start date." in [
        m.log.message for m in output.logs]

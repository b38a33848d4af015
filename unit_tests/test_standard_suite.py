"""Airbyte's standard connector tests (airbyte_cdk.test.standard_tests), opted into with the
scenarios of acceptance-test-config.yml, against the bundled emulator.

The CDK's suite takes its configs from the files acceptance-test-config.yml names; their hostname is
the `python -m sentry_emulator` default, http://127.0.0.1:8000. Here each scenario gets the config
of its file pointed at an emulator started on a free port when the scenarios are collected (so
several test runs on one machine never collide), serving the deterministic dataset of
scripts/write_expected_records.py.

From the CDK: spec (and its lint), config-matches-spec, check (one good config, two bad ones),
discover (with its catalog checks), basic read (every stream but the declared empty one returns
records that match their schemas), full refresh, a bad catalog. The tests that need a Docker engine
are excluded below. Added here, as CAT did: the incremental section (a second sync from the first
one's state reads nothing new; the abnormal far-future state), the expected records, exact check
messages, and that the files derived from the dataset are up to date.
"""
from __future__ import annotations

import importlib.util
import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml
from airbyte_cdk.models import AirbyteStateMessageSerializer, ConfiguredAirbyteCatalogSerializer, Status
from airbyte_cdk.test.entrypoint_wrapper import read
from airbyte_cdk.test.models import ConnectorTestScenario
from airbyte_cdk.test.standard_tests import SourceTestSuiteBase
from airbyte_cdk.test.standard_tests.pytest_hooks import pytest_generate_tests  # noqa: F401  (parametrizes `scenario`)

from sentry_emulator.dataset import parse_datetime
from sentry_emulator.server import SentryEmulator
from source_sentry import SourceSentry
from source_sentry.state import state_messages

ROOT = Path(__file__).resolve().parents[1]
ACCEPTANCE = yaml.safe_load((ROOT / "acceptance-test-config.yml").read_text())["acceptance_tests"]


def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


expected = _load_script("write_expected_records")
_emulator: Optional[SentryEmulator] = None


def suite_emulator() -> SentryEmulator:
    """Started on first use (scenarios are collected before fixtures run), stopped at module end."""
    global _emulator
    if _emulator is None:
        _emulator = expected.start_emulator()
    return _emulator


@pytest.fixture(scope="module", autouse=True)
def _stop_suite_emulator():
    yield
    global _emulator
    if _emulator is not None:
        _emulator.stop()
        _emulator = None


def config_of(relative_path: str) -> Dict[str, Any]:
    return expected.emulator_config(ROOT / relative_path, suite_emulator())


class TestSentryStandardSuite(SourceTestSuiteBase):
    """The CDK's standard tests for sources, fed by acceptance-test-config.yml."""

    connector = SourceSentry

    @classmethod
    def get_scenarios(cls) -> List[ConnectorTestScenario]:
        # The CDK parses and checks acceptance-test-config.yml; each config then points at the emulator.
        return [
            scenario.model_copy(update={"config_dict": config_of(str(scenario.config_path))})
            for scenario in super().get_scenarios()
        ]

    @classmethod
    def create_connector(cls, scenario: Optional[ConnectorTestScenario]) -> SourceSentry:
        # CDK 7 sources read with the config they were built with.
        config = scenario.get_config_dict(connector_root=cls.get_connector_root_dir(), empty_if_missing=True) if scenario else {}
        return SourceSentry(config=config or None)

    def test_config_matches_spec(self, scenario: ConnectorTestScenario) -> None:
        # CDK 7.39.1 passes a scenario's configured catalog to every verb but check and discover:
        # `spec --catalog ...`, which the entrypoint rejects (SystemExit 2) for a config that is also
        # listed under basic_read. `spec` takes no catalog: drop it for this test only.
        super().test_config_matches_spec(scenario.model_copy(update={"configured_catalog_path": None}))

    # These need a Docker engine: they build the image (`airbyte-cdk image build`, from metadata.yaml)
    # and run spec/check/discover/read in it; the backward-compatibility one also fetches the
    # published spec from Airbyte's registry. No Docker engine here, so they are not collected.
    test_docker_image_build_and_spec = None
    test_docker_image_spec_backward_compatibility = None
    test_docker_image_build_and_check = None
    test_docker_image_build_and_config_matches_spec = None
    test_docker_image_build_and_discover = None
    test_docker_image_build_and_read = None


def test_given_the_acceptance_config_then_the_cdk_collects_one_scenario_per_config_with_its_sections():
    scenarios = {scenario.id: scenario for scenario in TestSentryStandardSuite.get_scenarios()}

    assert {name: sorted(scenario.commands) for name, scenario in scenarios.items()} == {
        "sample_config": ["check", "discover", "read", "spec"],
        "invalid_config": ["check"],
        "invalid_config_unknown_project": ["check"],
    }
    assert scenarios["sample_config"].config_dict["hostname"] == suite_emulator().url
    assert [stream.name for stream in scenarios["sample_config"].empty_streams] == ["organization_stats"]


# ------------------------------------------------------------------------------------------------
# check: the bad configs fail for the reason a user must fix
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "config_path, expected_message",
    [
        ("integration_tests/sample_config.json", None),
        (
            "integration_tests/invalid_config.json",
            "Stream projects is not available: "
            "Sentry rejected the auth token (401 Invalid token) at {url}/api/0/organizations/acme/projects/: "
            "it is wrong, expired or revoked. Create a new auth token in Sentry and update the connector's configuration.",
        ),
        (
            "integration_tests/invalid_config_unknown_project.json",
            # project_detail is the first project stream checked: it fetches the selection, which
            # the project streams share (source_sentry/projects.py)
            "Stream project_detail is not available: "
            "Project 'no-such-project' was not found in organization 'acme' on {url} (404). "
            "Check the project slugs and that the token's user can see the project.",
        ),
    ],
    ids=["good", "invalid-token", "unknown-project"],
)
def test_given_a_connection_config_when_check_then_the_status_names_what_to_fix(config_path, expected_message):
    config = config_of(config_path)

    status = SourceSentry(config=config).check(logging.getLogger("airbyte"), config)

    if expected_message is None:
        assert (status.status, status.message) == (Status.SUCCEEDED, None)
    else:
        assert (status.status, status.message) == (Status.FAILED, expected_message.format(url=suite_emulator().url))


# ------------------------------------------------------------------------------------------------
# incremental (CAT's section, which the CDK's standard tests do not read)
# ------------------------------------------------------------------------------------------------

INCREMENTAL = ACCEPTANCE["incremental"]["tests"][0]


def incremental_read(state: Optional[List[Any]] = None):
    config = config_of(INCREMENTAL["config_path"])
    catalog = ConfiguredAirbyteCatalogSerializer.load(json.loads((ROOT / INCREMENTAL["configured_catalog_path"]).read_text()))
    return read(SourceSentry(config=config, catalog=catalog, state=state), config, catalog, state)


def final_states(output) -> List[Dict[str, Any]]:
    """The last state message of each stream, as Airbyte would save it."""
    last: Dict[str, Any] = {}
    for message in output.state_messages:
        last[message.state.stream.stream_descriptor.name] = message.state
    return [AirbyteStateMessageSerializer.dump(state) for state in last.values()]


def saved_cursors(state: Dict[str, Any]) -> set:
    """Every cursor value in a stream's saved state: per partition, global, or flat."""
    stream_state = state["stream"]["stream_state"]
    cursors = [entry["cursor"] for entry in stream_state.get("states", [])] + [stream_state.get("state", {})]
    cursors.append({k: v for k, v in stream_state.items() if k not in ("states", "state", "use_global_cursor", "lookback_window", "parent_state")})
    return {value for cursor in cursors for value in cursor.values()}


def test_given_the_state_of_a_first_sync_when_syncing_again_then_only_records_at_the_saved_second_come_again():
    """Cursors are kept to the second and windows include their start: a second sync reads again the
    records of the last second it saw (at least once; destinations dedupe on the primary key), and nothing else.
    Events and issues: a project without new events is not read at all (source_sentry/projects.py)."""
    catalog = json.loads((ROOT / INCREMENTAL["configured_catalog_path"]).read_text())
    cursor_of = {entry["stream"]["name"]: entry["cursor_field"][0] for entry in catalog["streams"]}
    first = incremental_read()
    states = final_states(first)

    second = incremental_read(state_messages(states))

    assert first.errors == [] and second.errors == []
    assert sorted(state["stream"]["stream_descriptor"]["name"] for state in states) == sorted(cursor_of)
    assert Counter(m.record.stream for m in first.records) == expected_counts(list(cursor_of))
    cursors = {state["stream"]["stream_descriptor"]["name"]: saved_cursors(state) for state in states}
    at_saved_second = [
        (m.record.stream, as_of_any_window(m.record.data)) for m in first.records
        if parse_datetime(m.record.data[cursor_of[m.record.stream]]).strftime("%Y-%m-%dT%H:%M:%SZ") in cursors[m.record.stream]
        and m.record.stream not in ("events", "issues")
    ]
    again = [(m.record.stream, as_of_any_window(m.record.data)) for m in second.records]
    assert sorted(again, key=json.dumps) == sorted(at_saved_second, key=json.dumps)
    assert Counter(stream for stream, _ in again) == {"releases": 1, "projects": 1, "release_deploys": 1}


def as_of_any_window(record: Dict[str, Any]) -> Dict[str, Any]:
    """An issue read again is read in another window: its window* figures differ, the rest not."""
    return {key: value for key, value in record.items() if not key.startswith("window")}


def test_given_the_abnormal_future_state_when_syncing_then_each_stream_is_resynced_from_the_start_date():
    """CAT expects no records from a far-future state. This connector cannot trust a cursor ahead of
    the clock (source_sentry/state.py): it drops it, warns (next test), and syncs the stream again
    from the start date, as the command line does with `--state abnormal_state.json`."""
    path = ROOT / INCREMENTAL["future_state"]["future_state_path"]
    streams = [entry["stream"]["stream_descriptor"]["name"] for entry in json.loads(path.read_text())]

    output = incremental_read(SourceSentry.read_state(str(path)))

    assert output.errors == []
    assert Counter(m.record.stream for m in output.records) == expected_counts(streams)


def test_given_the_abnormal_future_state_then_each_streams_state_migration_drops_it_with_a_reason(caplog):
    abnormal = json.loads((ROOT / INCREMENTAL["future_state"]["future_state_path"]).read_text())
    config = config_of(INCREMENTAL["config_path"])

    SourceSentry(config=config, state=state_messages(abnormal)).streams(config)

    assert sorted(record.getMessage() for record in caplog.records if record.getMessage().startswith("Ignoring")) == sorted(
        f"Ignoring the saved state of stream '{entry['stream']['stream_descriptor']['name']}' "
        f"({cursor}={value!r} is in the future): it syncs again from the start date."
        for entry in abnormal
        for cursor, value in entry["stream"]["stream_state"].items()
    )


# ------------------------------------------------------------------------------------------------
# expected records and the other derived files
# ------------------------------------------------------------------------------------------------

def expected_lines() -> List[Dict[str, Any]]:
    return [json.loads(line) for line in expected.EXPECTED_RECORDS.read_text().splitlines()]


def expected_counts(streams: List[str]) -> Counter:
    return Counter(line["stream"] for line in expected_lines() if line["stream"] in streams)


def test_given_the_deterministic_emulator_when_reading_then_the_derived_files_of_integration_tests_are_up_to_date():
    """One discover and one full read: the catalogs, the abnormal state and the expected records."""
    stale = [path.name for path, text in expected.derived_files(suite_emulator()).items() if path.read_text() != text]

    assert stale == [], "run python scripts/write_expected_records.py"


def test_given_the_expected_records_then_every_stream_has_some_but_the_declared_empty_one():
    entry = ACCEPTANCE["basic_read"]["tests"][0]
    catalog = json.loads((ROOT / entry["configured_catalog_path"]).read_text())

    counts = Counter(line["stream"] for line in expected_lines())

    assert sorted(counts) == sorted({e["stream"]["name"] for e in catalog["streams"]} - {s["name"] for s in entry["empty_streams"]})
    assert [s["name"] for s in entry["empty_streams"]] == list(expected.REAL_CLOCK_STREAMS)
    # 12 issues, 4 of them with events on both sides of a boundary of the 91-day windows (the
    # start_date is two years back): Sentry lists those in both windows.
    assert counts == {"events": 20, "members": 15, "issues": 16, "environments": 6, "releases": 5, "teams": 3,
                      "project_keys": 3, "projects": 2, "project_detail": 2, "release_deploys": 2}

"""Configuration: host names and base URLs, project selection, start date."""
from collections import Counter
from datetime import timedelta

import pytest
from airbyte_cdk.models import SyncMode

from conftest import NOW
from harness import config_for, ground_truth, ids_of, read, records_of
from source_sentry import SourceSentry


@pytest.mark.parametrize("hostname, api_base", [
    (None, "https://sentry.io/api/0"),
    ("sentry.io", "https://sentry.io/api/0"),
    ("de.sentry.io", "https://de.sentry.io/api/0"),
    (" us.sentry.io/ ", "https://us.sentry.io/api/0"),
    ("sentry.example.com", "https://sentry.example.com/api/0"),
    ("http://sentry.internal:9000", "http://sentry.internal:9000/api/0"),
    ("https://example.com/sentry", "https://example.com/sentry/api/0"),
    ("https://example.com/sentry/", "https://example.com/sentry/api/0"),
    ("https://sentry.io/api/0/", "https://sentry.io/api/0"),
    ("http://10.0.0.5:9000/api/0", "http://10.0.0.5:9000/api/0"),
])
def test_hostname_becomes_the_api_base_url(hostname, api_base):
    config = {"auth_token": "token", "organization": "acme"}
    if hostname is not None:
        config["hostname"] = hostname
    assert SourceSentry(config=config)._config["api_base"] == api_base


@pytest.mark.parametrize("suffix", ["", "/", "/api/0", "/api/0/"])
def test_given_a_self_hosted_install_behind_a_path_prefix_when_reading_then_urls_are_right(emulator_factory, suffix):
    emulator = emulator_factory(path_prefix="/sentry")
    assert emulator.url.endswith("/sentry") and emulator.url.startswith("http://")
    output = read(config_for(emulator, hostname=emulator.url + suffix), ["projects"])
    assert len(records_of(output, "projects")) == 3
    assert {r.path for r in emulator.requests} == {"/sentry/api/0/organizations/acme/projects/"}


@pytest.mark.parametrize("selection, slugs", [
    ({}, ["web", "api", "worker"]),
    ({"project": "api"}, ["api"]),
    ({"projects": ["worker", "web"]}, ["worker", "web"]),
    ({"project": "web", "projects": ["web", "api"]}, ["web", "api"]),
])
def test_project_selection_limits_every_project_stream(shared_emulator, shared_dataset, selection, slugs):
    shared_emulator.clear_log()
    streams = ["projects", "project_detail", "events", "issues"]
    output = read(config_for(shared_emulator, **selection), streams)
    for name in streams:
        expected = ground_truth(shared_dataset, name, projects=slugs)
        assert Counter(map(str, ids_of(records_of(output, name)))) == Counter(map(str, ids_of(expected))), name
    touched = {r.path.split("/")[5] for r in shared_emulator.requests if r.path.startswith("/api/0/projects/acme/")}
    assert touched == set(slugs)


def test_given_an_unknown_project_when_reading_then_the_sync_fails_naming_it(emulator):
    output = read(config_for(emulator, projects=["web", "ghost"]), ["events"], expect_failure=True)
    messages = [error.trace.error.message for error in output.errors]
    assert any(f"Project 'ghost' was not found in organization 'acme' on {emulator.url} (404)." in m for m in messages), messages
    assert output.errors[0].trace.error.failure_type.value == "config_error"


def test_start_date_bounds_every_incremental_stream(shared_emulator, shared_dataset):
    start = (NOW - timedelta(days=20)).replace(microsecond=0)
    start_text = start.strftime("%Y-%m-%d")
    output = read(config_for(shared_emulator, start_date=start_text), ["events", "issues", "releases", "projects"], SyncMode.incremental)
    cursor = {"events": "dateCreated", "issues": "lastSeen", "releases": "dateCreated", "projects": "dateCreated"}
    for name, field in cursor.items():
        expected = [row for row in ground_truth(shared_dataset, name) if row[field][:10] >= start_text]
        assert Counter(map(str, ids_of(records_of(output, name)))) == Counter(map(str, ids_of(expected))), name


@pytest.mark.parametrize("overrides, workers", [({}, 4), ({"num_workers": 7}, 7)])
def test_given_num_workers_when_building_the_source_then_that_many_requests_may_run_at_once(overrides, workers):
    source = SourceSentry(config={"auth_token": "t", "organization": "acme", **overrides})
    assert source._concurrent_source._threadpool._threadpool._max_workers == workers

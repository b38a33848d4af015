"""One project lookup per read (source_sentry/projects.py): the project streams share the
selection, each read fetches it again. Request counts per endpoint, exact."""
from __future__ import annotations

import re
from collections import Counter

import pytest
from airbyte_cdk.test.entrypoint_wrapper import read as entrypoint_read

from conftest import NOW
from harness import catalog_for, config_for, error_messages, ground_truth, key_of, read, records_of
from sentry_emulator.dataset import build_dataset
from source_sentry import SourceSentry

SIZES = dict(organization="acme", projects=3, events_per_project=5, issues_per_project=5, releases=3)
PROJECT_STREAMS = ["project_detail", "events", "issues", "project_keys", "environments"]


def per_endpoint(requests) -> Counter:
    return Counter(re.sub(r"^/api/0/projects/acme/[^/]+/", "/api/0/projects/acme/{slug}/", r.path) for r in requests)


@pytest.fixture
def small_emulator(emulator_factory):
    return emulator_factory(build_dataset(now=NOW, **SIZES))


def test_given_the_whole_organization_when_syncing_every_project_stream_then_the_project_list_is_fetched_once_for_them(small_emulator):
    output = read(config_for(small_emulator), ["projects", *PROJECT_STREAMS])

    assert output.errors == []
    for stream in PROJECT_STREAMS:
        assert Counter(key_of(stream, r) for r in records_of(output, stream)) == Counter(
            key_of(stream, r) for r in ground_truth(small_emulator.dataset, stream)), stream
    # before: the organization's list 6 times (once for `projects`, once per project stream)
    assert per_endpoint(small_emulator.requests) == {
        "/api/0/organizations/acme/projects/": 2,  # the projects stream, the selection
        "/api/0/projects/acme/{slug}/": 3,  # project_detail's records
        "/api/0/projects/acme/{slug}/events/": 3,
        "/api/0/organizations/acme/events/": 2,  # the count of events per project: errors, issuePlatform
        "/api/0/organizations/acme/issues/": 3,
        "/api/0/projects/acme/{slug}/keys/": 3,
        "/api/0/projects/acme/{slug}/environments/": 3,
    }


def test_given_configured_projects_when_syncing_every_project_stream_then_each_is_looked_up_once(small_emulator):
    output = read(config_for(small_emulator, projects=["web", "api"]), PROJECT_STREAMS)

    assert output.errors == []
    # before: 12 lookups (2 records of project_detail, the selection once per project stream)
    lookups = [r.path for r in small_emulator.requests if re.fullmatch(r"/api/0/projects/acme/[^/]+/", r.path)]
    assert Counter(lookups) == {"/api/0/projects/acme/web/": 2, "/api/0/projects/acme/api/": 2}
    assert per_endpoint(small_emulator.requests)["/api/0/organizations/acme/projects/"] == 0


def test_given_two_reads_with_one_config_object_then_each_read_fetches_the_selection(small_emulator):
    """The shared selection lives as long as one read (one source: the CDK's concurrent source
    reads once): a second read with the same config dict sees the projects as they are then."""
    config = config_for(small_emulator)
    catalog = catalog_for(["events", "environments"])
    first = entrypoint_read(SourceSentry(config=config, catalog=catalog), config, catalog)
    listed = per_endpoint(small_emulator.requests)["/api/0/organizations/acme/projects/"]
    small_emulator.dataset.projects.pop()  # a project deleted between the reads
    second = entrypoint_read(SourceSentry(config=config, catalog=catalog), config, catalog)

    assert first.errors == second.errors == []
    assert listed == 1
    assert per_endpoint(small_emulator.requests)["/api/0/organizations/acme/projects/"] == 2
    assert len(records_of(first, "events")) == 15 and len(records_of(second, "events")) == 10


def test_given_an_unknown_project_then_every_project_stream_fails_naming_it_after_one_lookup(small_emulator):
    output = read(config_for(small_emulator, projects=["web", "ghost"]), ["events", "issues"], expect_failure=True)

    expected = f"Project 'ghost' was not found in organization 'acme' on {small_emulator.url} (404)."
    assert any(expected in message for message in error_messages(output)), error_messages(output)
    ghost = [r for r in small_emulator.requests if r.path == "/api/0/projects/acme/ghost/"]
    assert [r.status for r in ghost] == [404]  # a 404 is not retried, nor fetched again by the second stream

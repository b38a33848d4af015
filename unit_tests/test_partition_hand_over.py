"""Partitions of an endpoint that allows one request at a time are handed to the CDK's workers one
at a time, so that other streams' partitions run while they wait (projects.py, hand_over)."""
from __future__ import annotations

import pytest

from sentry_emulator.dataset import build_dataset
from sentry_emulator.server import RateLimitRule

from conftest import NOW
from harness import config_for, ground_truth, key_of, read, records_of

EVENTS = r"^/api/0/projects/acme/[^/]+/events/$"
ISSUES = r"^/api/0/organizations/acme/issues/$"


@pytest.mark.waits(seconds=7)
def test_given_events_one_request_a_second_when_syncing_many_projects_then_issues_do_not_wait_behind_them(emulator_factory):
    import re

    dataset = build_dataset(now=NOW, organization="acme", projects=8, events_per_project=5, issues_per_project=3, releases=5)
    emulator = emulator_factory(dataset)
    emulator.rate_limits = [RateLimitRule(EVENTS[1:-1], limit=1, window_seconds=1.0, concurrent_limit=1)]
    streams = ["project_detail", "events", "issues"]

    output = read(config_for(emulator), streams)

    assert output.errors == []
    for stream in streams:
        assert sorted(key_of(stream, r) for r in records_of(output, stream)) == sorted(key_of(stream, r) for r in ground_truth(dataset, stream))
    log = emulator.requests
    events = [r.time for r in log if re.search(EVENTS, r.path) and r.status == 200]
    issues = [r.time for r in log if re.search(ISSUES, r.path)]
    assert len(events) == 8 and len(issues) == 8
    assert [r for r in log if r.status == 429] == []
    # one events request a second: 7 s from the first to the last; the issues, unlimited, are all
    # read by the third (before: their partitions queued behind the 8 events partitions, each
    # holding a worker while it waited, and ran after the 5th or later)
    assert max(issues) < sorted(events)[2]

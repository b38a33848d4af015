"""Server faults, rate limits and interrupted syncs: nothing lost, nothing doubled, failures explained."""
import json
import re
from collections import Counter
from datetime import timedelta

import pytest
from airbyte_cdk.models import SyncMode

from conftest import NOW
from harness import TOKEN, config_for, final_state, ground_truth, read, records_of, state_for
from sentry_emulator.dataset import build_dataset, new_event
from sentry_emulator.server import RateLimitRule
from source_sentry.rate_limits import SentryRateLimits

# 2 projects x ~300 events in the last 25 days: 3+ pages per project in one window.
SIZES = dict(organization="acme", projects=2, events_per_project=900, issues_per_project=40, releases=20)
START = (NOW - timedelta(days=25)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def faulty(emulator_factory):
    dataset = build_dataset(now=NOW, **SIZES)
    return dataset, emulator_factory(dataset)


def expected_events(dataset):
    return Counter(e["id"] for e in ground_truth(dataset, "events") if e["dateCreated"] >= START)


def synced_events(output):
    return Counter(record["id"] for record in records_of(output, "events"))


@pytest.mark.waits(seconds=4)
@pytest.mark.parametrize("kind", ["500", "502_html", "503", "504", "429", "invalid_json", "reset", "truncated", "short_page"])
def test_given_a_fault_on_every_third_request_when_reading_then_records_equal_ground_truth(faulty, kind):
    dataset, emulator = faulty
    fault = emulator.faults.add(r"/events/$", kind, every=3)
    output = read(config_for(emulator, start_date=START), ["events"])
    assert fault.fired >= 2
    assert synced_events(output) == expected_events(dataset)  # equal, and no duplicates
    assert output.errors == []


def test_given_slow_responses_when_reading_then_nothing_is_lost(faulty):
    dataset, emulator = faulty
    emulator.faults.add(r"/events/$", "slow", every=2, delay=0.3)
    output = read(config_for(emulator, start_date=START), ["events"])
    assert synced_events(output) == expected_events(dataset)


@pytest.mark.waits(seconds=13)
def test_given_a_page_that_is_never_json_when_reading_then_the_stream_fails_naming_the_path(faulty):
    dataset, emulator = faulty
    emulator.faults.add(r"/projects/acme/web/events/$", "invalid_json")
    output = read(config_for(emulator, start_date=START, projects=["web"]), ["events"], expect_failure=True)
    messages = [error.trace.error.message for error in output.errors]
    assert any(f"Sentry answered {emulator.url}/api/0/projects/acme/web/events/ with a body that is not JSON" in m for m in messages), messages
    assert any(m.startswith("During the sync, the following streams did not sync successfully: events") for m in messages)
    assert records_of(output, "events") == []  # the broken page is never taken as an empty one
    # the project, the count of events per project (projects.py), then the page: first try and 8 retries
    assert len(emulator.requests) == 1 + 1 + 9


def test_given_sentry_rate_limits_without_retry_after_when_reading_then_it_waits_for_the_window(faulty):
    dataset, emulator = faulty
    # the project events endpoint's own limit (Sentry counts each endpoint separately)
    emulator.rate_limits.append(RateLimitRule(r"^/api/0/projects/[^/]+/[^/]+/events/$", limit=3, window_seconds=2))
    output = read(config_for(emulator, start_date=START), ["events"])
    assert synced_events(output) == expected_events(dataset)
    statuses = Counter(r.status for r in emulator.requests if re.search(r"^/api/0/projects/[^/]+/[^/]+/events/$", r.path))
    per_project = Counter(e["projectID"] for e in ground_truth(dataset, "events") if e["dateCreated"] >= START)
    assert statuses[200] == sum(-(-count // 100) for count in per_project.values())  # each page once
    assert statuses[429] == 0  # paced from the headers, the first answer awaited
    assert output.errors == []


def test_given_a_read_then_every_request_it_sends_is_paced_by_sentrys_headers(emulator, monkeypatch):
    """SourceSentry swaps the manifest's budget for SentryRateLimits through private CDK names
    (`_prepare_for_stream_build`, `_constructor._api_budget`): if a CDK release renames either,
    this fails instead of pacing switching off."""
    paced = []
    acquire_call = SentryRateLimits.acquire_call

    def counting_acquire_call(self, request, *args, **kwargs):
        paced.append(request.url)
        return acquire_call(self, request, *args, **kwargs)

    monkeypatch.setattr(SentryRateLimits, "acquire_call", counting_acquire_call)
    output = read(config_for(emulator, projects=["web", "api"]), ["projects", "events", "releases"])

    assert output.errors == []
    assert len(emulator.requests) > 3
    assert sorted(url.split("?")[0] for url in paced) == sorted(emulator.url + r.path for r in emulator.requests)


def test_given_one_concurrent_request_allowed_when_reading_projects_side_by_side_then_they_take_turns(faulty):
    """Sentry's events endpoint allows one request at a time per caller: the budget learns it from
    X-Sentry-Rate-Limit-ConcurrentLimit and holds the other projects' requests back."""
    dataset, emulator = faulty
    emulator.rate_limits.append(RateLimitRule(r"/events/$", limit=1000, window_seconds=60, concurrent_limit=1))
    emulator.faults.add(r"/events/$", "latency", delay=0.05)
    output = read(config_for(emulator, start_date=START, num_workers=4), ["events"])
    assert synced_events(output) == expected_events(dataset)
    statuses = Counter(r.status for r in emulator.requests if r.path.endswith("/events/"))
    assert statuses[429] == 0  # one request at a time until the first answer tells the limit


def test_given_records_inserted_while_paginating_when_reading_then_pages_do_not_shift(faulty):
    """New events land in the newest-first listing; the pinned window end keeps offsets stable."""
    dataset, emulator = faulty
    expected = expected_events(dataset)
    inserted = []

    def insert_on_second_page(path, query):
        if path.endswith("/events/") and query.get("cursor"):
            moment = NOW + timedelta(seconds=len(inserted))
            inserted.append(emulator.add_event("web", new_event(dataset, "web", moment))["id"])

    emulator.on_request(insert_on_second_page)
    output = read(config_for(emulator, start_date=START), ["events"])
    assert len(inserted) == 4  # before each of the 2 later pages of each project
    synced = synced_events(output)
    assert max(synced.values()) == 1
    assert set(expected) <= set(synced)


@pytest.mark.waits(seconds=13)
def test_given_a_sync_that_fails_part_way_when_resuming_from_its_last_state_then_the_union_is_complete(faulty):
    dataset, emulator = faulty
    # the api project's events always fail: the web project completes and its state is kept
    emulator.faults.add(r"/projects/acme/api/events/$", "500")
    config = config_for(emulator, start_date=START)
    first = read(config, ["events"], SyncMode.incremental, expect_failure=True)
    assert first.errors
    state = final_state(first, "events")
    emulator.faults.clear()
    second = read(config, ["events"], SyncMode.incremental, state=state_for({"events": state}))
    union = set(synced_events(first)) | set(synced_events(second))
    assert union == set(expected_events(dataset))
    # what the first sync delivered for web is not read again (beyond the saved boundary second)
    web_again = [r for r in records_of(second, "events") if r["projectID"] == dataset.projects[0]["id"]]
    assert len(web_again) <= 2


def test_the_token_never_appears_in_any_output(faulty):
    dataset, emulator = faulty
    emulator.faults.add(r"/events/$", "500", every=2)
    emulator.faults.add(r"/issues/$", "invalid_json", every=2)
    config = config_for(emulator, start_date=START)
    outputs = [
        read(config, ["events", "issues", "projects"], expect_failure=True),
        read({**config, "auth_token": "sntrys_secret_never_printed"}, ["projects"], expect_failure=True),
    ]
    for output in outputs:
        text = "\n".join(json.dumps(m.__dict__, default=str) for m in output._messages)
        assert TOKEN not in text and "sntrys_secret_never_printed" not in text
    assert outputs[1].errors and not outputs[0].errors


def test_given_a_wrong_token_when_reading_then_config_error_and_no_retry(emulator):
    output = read(config_for(emulator, auth_token="wrong-token"), ["projects"], expect_failure=True)
    assert output.errors[0].trace.error.failure_type.value == "config_error"
    assert [r.status for r in emulator.requests] == [401]


def test_given_a_read_killed_part_way_when_restarting_from_its_last_state_then_the_union_is_complete(faulty, tmp_path):
    """The `source-sentry` process is killed after some records; the rerun starts from the last
    STATE it printed. Every record arrives in one of the two runs."""
    import subprocess
    import sys

    from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer

    from harness import catalog_for, write_json

    dataset, emulator = faulty
    emulator.faults.add(r"/events/$", "slow", delay=0.2)  # slow pages: the kill lands mid-sync
    config = write_json(tmp_path / "config.json", config_for(emulator, start_date=START, num_workers=2))
    catalog = write_json(tmp_path / "catalog.json", ConfiguredAirbyteCatalogSerializer.dump(catalog_for(["events"], SyncMode.incremental)))
    command = [sys.executable, "-m", "source_sentry.run", "read", "--config", config, "--catalog", catalog]

    first_ids, last_state = [], None
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    for line in process.stdout:
        message = json.loads(line)
        if message["type"] == "RECORD":
            first_ids.append(message["record"]["data"]["id"])
        elif message["type"] == "STATE":
            last_state = message["state"]
        if len(first_ids) >= 250:
            process.kill()
            break
    process.wait(timeout=30)
    assert 250 <= len(first_ids) < sum(expected_events(dataset).values())

    resume = command + ["--state", write_json(tmp_path / "state.json", [last_state] if last_state else [])]
    rerun = subprocess.run(resume, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0
    second_ids = [json.loads(line)["record"]["data"]["id"] for line in rerun.stdout.splitlines() if '"type":"RECORD"' in line]
    assert set(first_ids) | set(second_ids) == set(expected_events(dataset))


def test_given_a_proxy_that_sends_retry_after_when_rate_limited_then_it_is_honoured(faulty):
    dataset, emulator = faulty
    emulator.faults.add(r"/projects/acme/web/events/$", "429_retry_after", times=1)
    output = read(config_for(emulator, start_date=START, projects=["web"]), ["events"])
    web = [r for r in emulator.requests if r.path.endswith("/web/events/")]
    assert [r.status for r in web][:2] == [429, 200]
    assert web[1].time - web[0].time >= 2.0  # Retry-After: 2, not the 1 s exponential start
    assert synced_events(output) == Counter(e["id"] for e in dataset.events["web"] if e["dateCreated"] >= START)


@pytest.mark.waits(seconds=13)
def test_given_a_server_error_on_every_try_when_retries_run_out_then_the_stream_fails_naming_the_request_and_the_others_finish(emulator):
    emulator.faults.add(r"/teams/$", "500")
    output = read(config_for(emulator), ["teams", "members"], expect_failure=True)

    url = f"{emulator.url}/api/0/organizations/acme/teams/"
    teams = [r for r in emulator.requests if r.path.endswith("/teams/")]
    assert [r.status for r in teams] == [500] * 9  # the first try and 8 retries
    [failure, summary] = [e.trace.error for e in output.errors]
    assert re.fullmatch(
        rf"Exhausted available request attempts\. Please see logs for more details\. Exception: Sentry answered "
        rf"{re.escape(url)} with a server error \(5xx\): \{{'detail': 'Internal Error', 'errorId': '[0-9a-f]{{32}}'\}}",
        failure.message,
    )
    assert summary.message.startswith("During the sync, the following streams did not sync successfully: teams:")
    logs = [m.log.message for m in output.logs]
    assert [line.split(" (retry ")[-1].split(")")[0] for line in logs if line.startswith(f"Retrying GET {url}")] == [f"{n} of 8" for n in range(1, 9)]
    assert f"No retry left for GET {url}?per_page=100 after 9 tries: HTTP 500 from Sentry. The stream fails; the next sync resumes from its last saved state." in logs
    assert len(records_of(output, "members")) == len(emulator.dataset.members)

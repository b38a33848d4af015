"""Explore queries within Sentry's limits: the offset cap (a window above it is read on, never
truncated), projects with and without global-views (and a state written in the other mode), data
older than full fidelity (never presented as complete), and the endpoint's own rate-limit budget."""
from __future__ import annotations

import copy
import math
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List

import pytest
import requests
import yaml
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.models.declarative_component_schema import HTTPAPIBudget as HTTPAPIBudgetModel
from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import ManifestReferenceResolver
from airbyte_cdk.sources.declarative.parsers.model_to_component_factory import ModelToComponentFactory

from sentry_emulator.dataset import build_dataset
from sentry_emulator.dataset.explore import dense_spans
from sentry_emulator.dataset.project_facts import project_facts_of
from sentry_emulator.server.access import TokenUser

from conftest import DEFAULT_SIZES, NOW
from explore_harness import (
    START, by_id, expected_rows, explore_config, explore_requests, pages_for, read_explore, rows_of, utc, windows,
)
from harness import error_messages, final_state, records_of, state_for
from test_connector_builder import PACKAGED_MANIFEST

WEEK = timedelta(days=7)
SPANS = {"name": "spans", "dataset": "spans", "fields": ["span.op", "span.duration"]}


def small_dataset(**sizes: Any):
    return build_dataset(now=NOW, **{**DEFAULT_SIZES, "events_per_project": 20, "issues_per_project": 10, **sizes})


# ------------------------------------------------------------------------------------------------
# The offset cap
# ------------------------------------------------------------------------------------------------

def test_given_a_window_of_10250_rows_above_the_10000_row_cap_when_read_then_every_row_is_read_once(emulator_factory):
    dataset = small_dataset()
    dense = dense_spans(project_facts_of(dataset, "web"), 10_250, START + timedelta(days=1), START + timedelta(days=1, hours=1))
    dataset.explore["spans"] = sorted(dataset.explore["spans"] + dense, key=lambda row: (row["_ts"], row["id"]))
    emulator = emulator_factory(dataset)  # Sentry's cap as the issue describes it: 10,000 rows, then silence

    output = read_explore(explore_config(emulator, SPANS), ["explore_spans"])

    records = records_of(output, "explore_spans")
    expected = expected_rows(dataset, "spans", SPANS["fields"])
    assert error_messages(output) == []
    assert len(records) == len(expected) == len(by_id(records))
    assert by_id(records) == by_id(expected)
    # The first week holds more than the cap: 99 pages kept, the 100th (ending at the cap) dropped,
    # then the window again from the 9,900th row's instant with a fresh offset.
    first_week = [row for row in rows_of(dataset, "spans") if START.timestamp() <= row["_ts"] < (START + WEEK).timestamp()]
    restart = first_week[9_899]["_ts"]
    after_restart = sum(1 for row in first_week if row["_ts"] >= restart)
    reads = [request for request in explore_requests(emulator) if request.query.get("per_page") == ["100"]]
    last_end = max(utc(request.query["end"][0]) for request in reads)
    assert len(first_week) > 10_000 > after_restart
    assert len(reads) == 100 + math.ceil(after_restart / 100) + pages_for(dataset, "spans", windows(START + WEEK, last_end, WEEK))
    restarted = [request for request in reads if request.query["start"] != [START.strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
                 and utc(request.query["start"][0]) < START + WEEK]
    assert restarted[0].query["start"] == [datetime.fromtimestamp(restart, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
    assert "cursor" not in restarted[0].query
    assert max(int(request.query.get("cursor", ["0:0:0"])[0].split(":")[1]) for request in reads) == 9_900


def test_given_a_cap_the_connector_does_not_expect_then_sentry_truncates_the_window_silently(emulator_factory):
    """Control: with the connector's cap set above the emulator's, the first week stops at 10,000 rows."""
    dataset = small_dataset()
    dense = dense_spans(project_facts_of(dataset, "web"), 10_250, START + timedelta(days=1), START + timedelta(days=1, hours=1))
    dataset.explore["spans"] = sorted(dataset.explore["spans"] + dense, key=lambda row: (row["_ts"], row["id"]))
    emulator = emulator_factory(dataset)

    output = read_explore(explore_config(emulator, SPANS, explore_offset_cap=1_000_000), ["explore_spans"])

    first_week = [row["id"] for row in rows_of(dataset, "spans") if START.timestamp() <= row["_ts"] < (START + WEEK).timestamp()]
    read_first_week = set(by_id(records_of(output, "explore_spans"))) & set(first_week)
    assert error_messages(output) == []
    assert read_first_week == set(first_week[:10_000]) and len(first_week) > 10_000


def test_given_an_aggregate_window_with_more_groups_than_the_cap_then_the_sync_fails_naming_the_query(emulator_factory):
    emulator = emulator_factory(small_dataset(), explore_offset_cap=200)
    query = {"name": "per_span", "dataset": "spans", "fields": ["id", "count()"], "window": "P1D"}
    dense = dense_spans(project_facts_of(emulator.dataset, "web"), 250, START + timedelta(hours=1), START + timedelta(hours=2))
    emulator.add_explore_rows("spans", dense)

    output = read_explore(explore_config(emulator, query, explore_offset_cap=200), ["explore_per_span"], expect_failure=True)

    assert [(error.trace.error.failure_type, error.trace.error.message) for error in output.errors][:1] == [(
        FailureType.config_error,
        "Explore query 'per_span': one window holds more than 200 groups, more than Sentry pages through: narrow the query "
        "or shorten its window.",
    )]


def test_given_more_rows_than_the_cap_at_one_instant_then_the_sync_fails_instead_of_truncating(emulator_factory):
    emulator = emulator_factory(small_dataset(), explore_offset_cap=200)
    same_instant = dense_spans(project_facts_of(emulator.dataset, "web"), 250, START + timedelta(hours=1), START + timedelta(hours=1, seconds=1))
    for row in same_instant:
        row["_ts"], row["timestamp"] = (START + timedelta(hours=1)).timestamp(), (START + timedelta(hours=1)).isoformat()
    emulator.add_explore_rows("spans", same_instant)

    output = read_explore(explore_config(emulator, SPANS, explore_offset_cap=200), ["explore_spans"], expect_failure=True)

    assert output.errors
    assert "attempts with the same slice" in output.errors[0].trace.error.internal_message


# ------------------------------------------------------------------------------------------------
# Projects and global-views
# ------------------------------------------------------------------------------------------------

def test_given_global_views_then_one_request_per_window_reads_every_project_and_none_asks_for_features_twice(emulator_factory):
    emulator = emulator_factory(small_dataset())

    output = read_explore(explore_config(emulator, SPANS), ["explore_spans"])

    records = records_of(output, "explore_spans")
    assert {record["project.name"] for record in records} == {"web", "api", "worker"}  # worker: the token's user is no member
    assert by_id(records) == by_id(expected_rows(emulator.dataset, "spans", SPANS["fields"]))
    assert {tuple(request.query.get("project", [])) for request in explore_requests(emulator)} == {("-1",)}
    assert [request.path for request in emulator.requests].count("/api/0/organizations/acme/") == 1


def test_given_no_global_views_then_each_project_is_read_alone_with_the_same_rows_and_a_state_per_project(emulator_factory):
    emulator = emulator_factory(small_dataset())
    emulator.set_feature("global-views", False)

    output = read_explore(explore_config(emulator, SPANS), ["explore_spans"])

    records = records_of(output, "explore_spans")
    assert error_messages(output) == []
    assert by_id(records) == by_id(expected_rows(emulator.dataset, "spans", SPANS["fields"]))
    assert len(records) == len(by_id(records))
    requests_sent = explore_requests(emulator)
    assert {tuple(request.query.get("projectSlug", [])) for request in requests_sent} == {("web",), ("api",), ("worker",)}
    assert all("project" not in request.query for request in requests_sent)
    paths = [request.path for request in emulator.requests]
    assert (paths.count("/api/0/organizations/acme/"), paths.count("/api/0/organizations/acme/projects/")) == (1, 1)
    reads = [request for request in requests_sent if request.query.get("per_page") == ["100"]]
    last_end = max(utc(request.query["end"][0]) for request in reads)
    assert len(reads) == sum(pages_for(emulator.dataset, "spans", windows(START, last_end, WEEK), lambda row, slug=slug: row["_project"] == slug)
                             for slug in ("web", "api", "worker"))
    assert len(requests_sent) == len(reads) + 1  # and one schema request, of the first project
    state = final_state(output, "explore_spans")
    cursors = {entry["partition"]["project"]: entry["cursor"]["timestamp"] for entry in state["states"]}
    newest = {slug: max(record["timestamp"] for record in records if record["project.name"] == slug) for slug in ("web", "api", "worker")}
    assert cursors == {slug: utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ") for slug, value in newest.items()}
    assert "state" not in state or state.get("use_global_cursor") is False


def test_given_no_global_views_and_a_project_above_the_cap_then_its_window_is_read_on_too(emulator_factory):
    emulator = emulator_factory(small_dataset(), explore_offset_cap=200)
    emulator.set_feature("global-views", False)
    for slug in ("web", "api", "worker"):
        emulator.add_explore_rows("spans", dense_spans(project_facts_of(emulator.dataset, slug), 250, START + timedelta(days=2), START + timedelta(days=3)))
    query = {**SPANS, "window": "P30D"}

    output = read_explore(explore_config(emulator, query, explore_offset_cap=200), ["explore_spans"])

    records = records_of(output, "explore_spans")
    assert error_messages(output) == []
    assert len(records) == len(by_id(records))
    assert by_id(records) == by_id(expected_rows(emulator.dataset, "spans", SPANS["fields"]))
    restarts = {request.query["projectSlug"][0] for request in explore_requests(emulator)
                if request.query.get("per_page") == ["100"] and request.query["start"][0] != START.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    assert restarts == {"web", "api", "worker"}  # each project's window holds more than 400 spans


@pytest.mark.parametrize("global_views", [True, False])
def test_given_projects_the_user_cannot_read_then_both_modes_read_the_same_readable_projects(emulator_factory, global_views):
    """Without Open Membership the user reads only their team's project (web): project=-1 selects
    it alone, and the per-project mode lists the projects and skips those with hasAccess false."""
    emulator = emulator_factory(small_dataset(), user=TokenUser(open_membership=False))
    emulator.set_feature("global-views", global_views)

    output = read_explore(explore_config(emulator, SPANS), ["explore_spans"])

    assert error_messages(output) == []
    assert by_id(records_of(output, "explore_spans")) == by_id(expected_rows(emulator.dataset, "spans", SPANS["fields"], projects=["web"]))
    sent = {tuple(request.query.get("projectSlug") or request.query.get("project")) for request in explore_requests(emulator)}
    assert sent == ({("-1",)} if global_views else {("web",)})


def test_given_one_project_per_query_then_the_organization_is_not_asked_for_its_features(emulator_factory):
    emulator = emulator_factory(small_dataset())
    emulator.set_feature("global-views", False)

    output = read_explore(explore_config(emulator, {**SPANS, "projects": ["api"]}), ["explore_spans"])

    assert by_id(records_of(output, "explore_spans")) == by_id(expected_rows(emulator.dataset, "spans", SPANS["fields"], projects=["api"]))
    assert "/api/0/organizations/acme/" not in [request.path for request in emulator.requests]
    assert {tuple(request.query["projectSlug"]) for request in explore_requests(emulator)} == {("api",)}


def test_given_a_per_project_state_when_the_organization_gains_global_views_then_the_oldest_project_cursor_is_resumed(emulator_factory):
    emulator = emulator_factory(small_dataset())
    emulator.set_feature("global-views", False)
    config = explore_config(emulator, SPANS)
    per_project = final_state(read_explore(config, ["explore_spans"]), "explore_spans")
    emulator.set_feature("global-views", True)
    emulator.clear_log()

    resumed = read_explore(config, ["explore_spans"], state=state_for({"explore_spans": per_project}))

    oldest = min(entry["cursor"]["timestamp"] for entry in per_project["states"])
    reads = [request for request in explore_requests(emulator) if request.query.get("per_page") == ["100"]]
    assert min(request.query["start"][0] for request in reads) == oldest
    expected = expected_rows(emulator.dataset, "spans", SPANS["fields"], since=utc(oldest))
    assert by_id(records_of(resumed, "explore_spans")) == by_id(expected)  # nothing lost; newer projects re-read
    assert final_state(resumed, "explore_spans") == {"timestamp": max(entry["cursor"]["timestamp"] for entry in per_project["states"])}


def test_given_one_cursor_when_the_organization_loses_global_views_then_every_project_resumes_from_it(emulator_factory):
    emulator = emulator_factory(small_dataset())
    config = explore_config(emulator, SPANS)
    flat = final_state(read_explore(config, ["explore_spans"]), "explore_spans")
    emulator.set_feature("global-views", False)
    emulator.clear_log()

    resumed = read_explore(config, ["explore_spans"], state=state_for({"explore_spans": flat}))

    reads = [request for request in explore_requests(emulator) if request.query.get("per_page") == ["100"]]
    assert {(request.query["projectSlug"][0], request.query["start"][0]) for request in reads} == {
        (slug, flat["timestamp"]) for slug in ("web", "api", "worker")}
    assert by_id(records_of(resumed, "explore_spans")) == by_id(expected_rows(emulator.dataset, "spans", SPANS["fields"], since=utc(flat["timestamp"])))


# ------------------------------------------------------------------------------------------------
# Downsampled and expired data
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dataset, fields", [("spans", ["span.op"]), ("logs", ["message"])])
def test_given_a_start_date_beyond_30_days_then_spans_and_logs_start_29_days_back(emulator_factory, dataset, fields):
    emulator = emulator_factory(small_dataset())
    started = datetime.now(timezone.utc)
    query = {"name": "old", "dataset": dataset, "fields": fields, "window": "P30D"}

    output = read_explore(explore_config(emulator, query, start_date=(NOW - timedelta(days=60)).strftime("%Y-%m-%d")), ["explore_old"])

    first = min(utc(request.query["start"][0]) for request in explore_requests(emulator) if request.query.get("per_page") == ["100"])
    assert started - timedelta(days=29) <= first <= datetime.now(timezone.utc) - timedelta(days=29)
    assert error_messages(output) == []
    assert all(utc(record["timestamp"]) >= first for record in records_of(output, "explore_old"))


def test_given_a_start_date_60_days_back_then_error_events_are_read_from_it(emulator_factory):
    """Errors and transactions are kept 90 days at full fidelity: only spans and logs are clamped."""
    emulator = emulator_factory(small_dataset())
    since = (NOW - timedelta(days=60)).replace(microsecond=0)
    query = {"name": "old", "dataset": "errors", "fields": ["title"], "window": "P30D"}

    output = read_explore(explore_config(emulator, query, start_date=since.strftime("%Y-%m-%dT%H:%M:%SZ")), ["explore_old"])

    assert by_id(records_of(output, "explore_old")) == by_id(expected_rows(emulator.dataset, "errors", ["title"], since=since))
    assert min(record["timestamp"] for record in records_of(output, "explore_old")) < (NOW - timedelta(days=29)).isoformat()


def test_given_sentry_answers_a_window_from_sampled_data_then_the_sync_stops_rather_than_store_it(emulator_factory):
    emulator = emulator_factory(small_dataset(), explore_full_fidelity_days=10)  # a Sentry keeping full spans 10 days

    output = read_explore(explore_config(emulator, SPANS), ["explore_spans"], expect_failure=True)

    errors = [(error.trace.error.failure_type, error.trace.error.message) for error in output.errors]
    assert errors[:1] == [(FailureType.system_error,
                           "Explore query 'spans' (spans): Sentry answered a window from sampled data (meta.dataScanned is 'partial'), so its "
                           "rows would be incomplete and the sync stops. Sentry keeps spans at full fidelity for 30 days; an older window "
                           "holds only a sample.")]


# ------------------------------------------------------------------------------------------------
# Rate limits
# ------------------------------------------------------------------------------------------------

def budget_policies(manifest: Dict[str, Any], *paths: str) -> List[Any]:
    """The manifest's API-budget policy each path matches (one budget for all of them)."""
    resolved = ManifestReferenceResolver().preprocess_manifest(copy.deepcopy(manifest))
    budget = ModelToComponentFactory().create_component(HTTPAPIBudgetModel, resolved["api_budget"], config={})
    return [budget.get_matching_policy(requests.Request("GET", f"https://sentry.io/api/0/{path}").prepare()) for path in paths]


def test_given_the_explore_endpoint_then_its_rate_limit_budget_is_its_own_not_the_project_events_one():
    """Sentry limits each endpoint on its own (30/s and 15 at once for Explore); the project events
    matcher `/events$` also matched /organizations/{org}/events/ before."""
    manifest = yaml.safe_load(PACKAGED_MANIFEST.read_text())

    explore, project_events, other_project_events = budget_policies(
        manifest, "organizations/acme/events/", "projects/acme/web/events/", "projects/acme/api/events/")

    assert explore is not None and project_events is not None
    assert explore is not project_events
    assert project_events is other_project_events

"""Teams, members, client keys, environments, deploys and usage statistics."""
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from airbyte_cdk.models import SyncMode

from conftest import NOW
from harness import config_for, final_state, ground_truth, key_of, read, records_of, state_for
from sentry_emulator.dataset import build_dataset


def keys(name, rows):
    return Counter(key_of(name, row) for row in rows)


def test_hidden_environments_are_synced_with_their_project(shared_emulator, shared_dataset):
    output = read(config_for(shared_emulator, projects=["web"]), ["environments"])
    records = records_of(output, "environments")
    assert keys("environments", records) == keys("environments", ground_truth(shared_dataset, "environments", ["web"]))
    assert {record["project"] for record in records} == {"web"}
    assert any(record["isHidden"] for record in ground_truth(shared_dataset, "environments"))


def test_members_include_pending_invites(shared_emulator, shared_dataset):
    records = records_of(read(config_for(shared_emulator), ["members"]), "members")
    assert keys("members", records) == keys("members", ground_truth(shared_dataset, "members"))
    assert any(record["pending"] for record in records)


def test_release_versions_are_url_encoded_in_deploy_paths(emulator_factory):
    dataset = build_dataset(now=NOW, organization="acme", projects=1, events_per_project=3, issues_per_project=3, releases=4)
    odd = dataset.releases[0]
    deploy = {"id": "991", "environment": "production", "dateStarted": None, "name": None, "url": None,
              "dateFinished": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    for release in dataset.releases:
        release["deployCount"] = 0
    odd["version"] = "web@2.0.0+build 7 (beta)"
    odd["deployCount"] = 1
    dataset.deploys = {odd["version"]: [deploy]}
    emulator = emulator_factory(dataset)
    records = records_of(read(config_for(emulator), ["release_deploys"]), "release_deploys")
    assert records == [{**deploy, "release_version": "web@2.0.0+build 7 (beta)"}]  # nulls included
    deploy_paths = [r.path for r in emulator.requests if r.path.endswith("/deploys/")]
    assert deploy_paths == ["/api/0/organizations/acme/releases/web%402.0.0%2Bbuild%207%20%28beta%29/deploys/"]


def test_given_a_new_deploy_of_an_old_release_when_syncing_again_then_it_is_read(emulator_factory):
    dataset = build_dataset(now=NOW, organization="acme", projects=1, events_per_project=3, issues_per_project=3, releases=60)
    emulator = emulator_factory(dataset)
    config = config_for(emulator)
    first = read(config, ["release_deploys"], SyncMode.incremental)
    assert keys("release_deploys", records_of(first, "release_deploys")) == keys("release_deploys", ground_truth(dataset, "release_deploys"))
    oldest = min(dataset.releases, key=lambda release: release["dateCreated"])
    finished = datetime.now(timezone.utc) - timedelta(seconds=2)
    new_deploy = {"id": "777777", "environment": "production", "dateStarted": None, "name": None, "url": None,
                  "dateFinished": finished.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    dataset.deploys.setdefault(oldest["version"], []).append(new_deploy)
    oldest["deployCount"] = len(dataset.deploys[oldest["version"]])
    emulator.invalidate_cache()
    state = final_state(first, "release_deploys")
    second = read(config, ["release_deploys"], SyncMode.incremental, state=state_for({"release_deploys": state}))
    saved = state["state"]["dateFinished"]  # one cursor for every release
    boundary = [d["id"] for d in ground_truth(dataset, "release_deploys") if d["dateFinished"][:19] == saved[:19]]
    assert sorted(record["id"] for record in records_of(second, "release_deploys")) == sorted(["777777"] + boundary)
    assert len(boundary) == 1  # the newest deploy of the first sync: the saved second is read again


def test_usage_statistics_are_flat_daily_rows(shared_emulator, shared_dataset):
    records = records_of(read(config_for(shared_emulator), ["organization_stats"]), "organization_stats")
    assert keys("organization_stats", records) == keys("organization_stats", ground_truth(shared_dataset, "organization_stats"))
    assert all(set(record) == {"date", "category", "outcome", "project_id", "quantity"} for record in records)
    assert all(isinstance(record["project_id"], int) and isinstance(record["quantity"], int) for record in records)


def test_given_a_synced_past_when_syncing_usage_again_then_only_today_is_read_again(emulator_factory):
    dataset = build_dataset(now=NOW, organization="acme", projects=2, events_per_project=3, issues_per_project=3, releases=3)
    emulator = emulator_factory(dataset)
    config = config_for(emulator)
    state = final_state(read(config, ["organization_stats"], SyncMode.incremental), "organization_stats")
    assert state["date"] == datetime.now(timezone.utc).strftime("%Y-%m-%d")
    emulator.clear_log()
    second = read(config, ["organization_stats"], SyncMode.incremental, state=state_for({"organization_stats": state}))
    today = state["date"]
    assert [r.query["start"] for r in emulator.requests] == [[f"{today}T00:00:00Z"]]
    assert keys("organization_stats", records_of(second, "organization_stats")) == keys(
        "organization_stats", [row for row in ground_truth(dataset, "organization_stats") if row["date"] == today]
    )


@pytest.mark.parametrize("stream, scope", [("members", "member:read"), ("organization_stats", "org:read"), ("project_keys", "project:read")])
def test_given_a_token_without_the_scope_of_a_selected_stream_then_the_scope_is_named(emulator_factory, stream, scope):
    all_scopes = {"org:read", "member:read", "project:read", "event:read", "project:releases"}
    emulator = emulator_factory(scopes=all_scopes - {scope} | ({"org:read"} if stream == "project_keys" else set()))
    output = read(config_for(emulator), [stream], expect_failure=True)
    messages = [error.trace.error.message for error in output.errors]
    assert any(f"the auth token lacks the '{scope}' scope" in message for message in messages), messages


def test_given_a_token_without_member_read_when_members_is_not_selected_then_the_sync_succeeds(emulator_factory, shared_dataset):
    emulator = emulator_factory(scopes={"org:read", "project:read", "event:read", "project:releases"})
    output = read(config_for(emulator), ["teams", "events"])
    assert output.errors == []
    assert len(records_of(output, "teams")) == len(ground_truth(shared_dataset, "teams"))

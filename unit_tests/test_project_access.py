"""Projects the token's user is not a member of: every project the user can read is synced, the
ones they cannot are named in a warning (src/sentry/api/bases/organization.py get_projects,
src/sentry/auth/access.py, src/sentry/api/serializers/models/project.py get_access_by_project)."""
from collections import Counter

import pytest

from conftest import NOW
from harness import config_for, ground_truth, key_of, read, records_of, run_cli, write_json
from sentry_emulator.dataset import build_dataset
from sentry_emulator.server.access import TokenUser

SIZES = dict(organization="acme", projects=3, events_per_project=40, issues_per_project=8, releases=30)
PROJECT_STREAMS = ["project_detail", "events", "issues", "project_keys", "environments"]


def keys(name, rows):
    return Counter(key_of(name, row) for row in rows)


def project_ids_of(dataset, slugs):
    return {p["id"] for p in dataset.projects if p["slug"] in slugs}


@pytest.mark.parametrize("stream", ["releases", "release_deploys", "organization_stats"])
def test_given_a_user_in_one_team_of_an_open_organization_then_other_teams_projects_are_synced_too(emulator_factory, stream):
    """Open Membership (Sentry's default): the user reads api and worker without being in their team."""
    dataset = build_dataset(now=NOW, **SIZES)
    emulator = emulator_factory(dataset)
    assert [p["slug"] for p in dataset.projects if p["isMember"]] == ["web"]
    output = read(config_for(emulator), [stream])
    assert output.errors == []
    expected = ground_truth(dataset, stream)
    if stream == "organization_stats":
        assert {row["project_id"] for row in expected} == {int(p["id"]) for p in dataset.projects}
    assert keys(stream, records_of(output, stream)) == keys(stream, expected)
    listings = [r for r in emulator.requests if r.path.endswith(("/releases/", "/stats_v2/"))]
    assert listings and all(r.query.get("project") == ["-1"] for r in listings)


def test_given_a_closed_organization_when_syncing_it_whole_then_readable_projects_are_synced_and_the_others_named(emulator_factory, caplog):
    dataset = build_dataset(now=NOW, **SIZES)
    emulator = emulator_factory(dataset, user=TokenUser(open_membership=False))
    output = read(config_for(emulator), ["projects", "releases", "organization_stats", *PROJECT_STREAMS])

    assert output.errors == []
    readable = ["web"]
    listed = records_of(output, "projects")
    assert {(p["slug"], p["hasAccess"]) for p in listed} == {("web", True), ("api", False), ("worker", False)}
    for stream in PROJECT_STREAMS:
        assert keys(stream, records_of(output, stream)) == keys(stream, ground_truth(dataset, stream, readable)), stream
    web_releases = [r for r in ground_truth(dataset, "releases") if {p["slug"] for p in r["projects"]} & set(readable)]
    assert keys("releases", records_of(output, "releases")) == keys("releases", web_releases)
    web_id = int(dataset.projects[0]["id"])
    assert {row["project_id"] for row in records_of(output, "organization_stats")} == {web_id}
    assert all(r.status == 200 for r in emulator.requests), "no request may go to a project the user cannot read"
    warnings = [m.log.message for m in output.logs if m.log.level.value == "WARN" and "cannot read" in m.log.message]
    assert warnings and all("'api'" in w and "'worker'" in w for w in warnings)
    assert warnings[0] == (
        "Skipping 2 projects the auth token's user cannot read: 'api', 'worker' (not a member of their teams, and the "
        "organization does not have Open Membership). Add the user to a team of each project to sync them."
    )


def test_given_a_closed_organization_when_a_configured_project_cannot_be_read_then_the_sync_fails_naming_it(emulator_factory):
    emulator = emulator_factory(build_dataset(now=NOW, **SIZES), user=TokenUser(open_membership=False))
    output = read(config_for(emulator, projects=["web", "worker"]), ["events"], expect_failure=True)
    messages = [error.trace.error.message for error in output.errors]
    assert any(
        "Sentry denied access to" in m and "/projects/acme/worker/ (403)" in m
        and "the auth token's user cannot read project 'worker'" in m for m in messages
    ), messages


def test_given_a_manager_of_a_closed_organization_then_every_project_is_read(emulator_factory):
    """Managers and owners have global access (src/sentry/conf/server.py SENTRY_ROLES is_global)."""
    dataset = build_dataset(now=NOW, **SIZES)
    emulator = emulator_factory(dataset, user=TokenUser(open_membership=False, role="manager"))
    output = read(config_for(emulator), ["events", "releases"])
    assert output.errors == []
    assert keys("events", records_of(output, "events")) == keys("events", ground_truth(dataset, "events"))
    assert keys("releases", records_of(output, "releases")) == keys("releases", ground_truth(dataset, "releases"))


def test_given_an_organization_token_when_checking_then_the_message_says_what_it_cannot_read(tmp_path, emulator_factory):
    """Organization tokens carry only org:ci (src/sentry/models/orgauthtoken.py, SENTRY_SCOPE_HIERARCHY_MAPPING)."""
    token = "sntrys_" + "x" * 40
    emulator = emulator_factory(build_dataset(now=NOW, **SIZES), token=token, scopes={"org:ci"}, user=TokenUser(kind="organization"))
    config = config_for(emulator, auth_token=token)
    messages, code = run_cli(["check", "--config", write_json(tmp_path / "config.json", config)])
    (status,) = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    assert status["status"] == "FAILED" and token not in str(messages)
    assert "organization token" in status["message"] and "org:ci" in status["message"]
    assert "use a user auth token" in status["message"]

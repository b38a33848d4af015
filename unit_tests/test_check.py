"""`check` names the cause of every failure: token, scope, organization, project."""
import json
import logging

import pytest
from airbyte_cdk.models import Status

from harness import TOKEN, config_for, run_cli, write_json
from source_sentry import SourceSentry


def check(tmp_path, config):
    messages, code = run_cli(["check", "--config", write_json(tmp_path / "config.json", config)])
    statuses = [m["connectionStatus"] for m in messages if m["type"] == "CONNECTION_STATUS"]
    assert len(statuses) == 1 and code == 0
    assert TOKEN not in json.dumps(messages)
    assert len(config["auth_token"].strip()) < 4 or config["auth_token"] not in json.dumps(messages)
    return statuses[0]


def api_requests(emulator):
    """The requests of the check itself, without the first one that only sees whether the host answers."""
    return [r for r in emulator.requests if r.method != "HEAD"]


def test_given_a_good_config_when_checking_then_it_succeeds(tmp_path, emulator):
    status = check(tmp_path, config_for(emulator))
    assert status == {"status": "SUCCEEDED"}
    assert [(r.method, r.path) for r in emulator.requests][0] == ("HEAD", "/api/0/")  # is the host there at all?
    assert all(r.status == 200 for r in api_requests(emulator))


def test_given_a_wrong_token_when_checking_then_the_token_is_blamed_after_one_request(tmp_path, emulator):
    status = check(tmp_path, config_for(emulator, auth_token="sntrys_wrong_secret_value"))
    assert status["status"] == "FAILED"
    assert status["message"] == (
        f"Stream projects is not available: Sentry rejected the auth token (401 Invalid token) at "
        f"{emulator.url}/api/0/organizations/acme/projects/: it is wrong, expired or revoked. "
        "Create a new auth token in Sentry and update the connector's configuration."
    )
    assert [r.status for r in api_requests(emulator)] == [401]


@pytest.mark.parametrize("scopes, missing, url", [
    ({"project:read", "event:read", "project:releases"}, "org:read", "/api/0/organizations/acme/projects/"),
    ({"org:read", "event:read", "project:releases"}, "project:read", "/api/0/projects/acme/web/"),
    ({"org:read", "project:read"}, "event:read", "/api/0/projects/acme/web/events/"),
])
def test_given_a_token_without_a_scope_when_checking_then_the_scope_is_named(tmp_path, emulator_factory, scopes, missing, url):
    emulator = emulator_factory(scopes=scopes)
    status = check(tmp_path, config_for(emulator))
    assert status["status"] == "FAILED"
    assert f"Sentry denied access to {emulator.url}{url} (403): the auth token lacks the '{missing}' scope" in status["message"]


def test_given_an_unknown_organization_when_checking_then_slug_and_host_are_named(tmp_path, emulator):
    status = check(tmp_path, config_for(emulator, organization="acme-typo"))
    assert status["message"] == (
        f"Stream projects is not available: Organization 'acme-typo' was not found on {emulator.url} (404). "
        "Check the organization slug and the hostname (EU organizations live on de.sentry.io)."
    )


@pytest.mark.parametrize("selection", [{"projects": ["web", "nope"]}, {"project": "nope"}, {"projects": ["nope", "web"]}])
def test_given_an_unknown_project_when_checking_then_it_is_named(tmp_path, emulator, selection):
    status = check(tmp_path, config_for(emulator, **selection))
    assert status["status"] == "FAILED"
    assert f"Project 'nope' was not found in organization 'acme' on {emulator.url} (404)." in status["message"]


@pytest.mark.parametrize("config, message", [
    ({"organization": "  "}, "organization is blank: set it to the slug shown in Sentry's URLs (e.g. 'acme')."),
    ({"organization": "my org"}, "organization 'my org' is not a Sentry slug: slugs hold only letters, digits, '-', '_' and '.', without spaces."),
    ({"projects": ["web", " "]}, "projects[1] is blank: set it to the slug shown in Sentry's URLs (e.g. 'acme')."),
    ({"project": ""}, "project is blank: set it to the slug shown in Sentry's URLs (e.g. 'acme')."),
    ({"hostname": "http://bad host"}, "hostname 'http://bad host' is not a host such as sentry.io or de.sentry.io, or a base URL such as http://sentry.internal:9000."),
    ({"hostname": "ftp://sentry.io"}, "hostname 'ftp://sentry.io' is not a host such as sentry.io or de.sentry.io, or a base URL such as http://sentry.internal:9000."),
    ({"hostname": "sentry.io:99999"}, "hostname 'sentry.io:99999' is not a host such as sentry.io or de.sentry.io, or a base URL such as http://sentry.internal:9000."),
    ({"start_date": "yesterday"}, "start_date 'yesterday' is not an ISO 8601 UTC date such as 2024-01-01 or 2024-01-01T00:00:00Z."),
    ({"start_date": "2999-01-01"}, "start_date '2999-01-01' is in the future: nothing would be synced."),
    ({"auth_token": " "}, "auth_token is missing: create an auth token in Sentry (Settings > Auth Tokens) and set it."),
    ({"num_workers": 1}, "num_workers must be a whole number from 2 to 20, not 1."),
    ({"retry_backoff_seconds": 0}, "retry_backoff_seconds must be a number from 0.01 to 60, not 0."),
])
def test_given_a_malformed_config_when_checking_then_it_is_explained_before_any_request(tmp_path, emulator, config, message):
    status = check(tmp_path, {**config_for(emulator), **config})
    assert status == {"status": "FAILED", "message": message}
    assert emulator.requests == []


def test_given_a_host_that_refuses_connections_when_checking_then_it_says_so_at_once(tmp_path):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    status = check(tmp_path, {"auth_token": TOKEN, "organization": "acme", "hostname": f"http://127.0.0.1:{port}"})
    assert status == {"status": "FAILED", "message": (
        f"Could not connect to http://127.0.0.1:{port}: Connection refused. "
        "Check the hostname and that this machine can reach it.")}


def test_given_the_config_as_written_when_check_is_called_directly_then_host_and_every_project_are_still_checked(emulator):
    """The entrypoint hands `check` the normalized config; a direct caller may hand it the config
    as written (no api_base, no project_slugs): the source normalizes it the same way."""
    config = config_for(emulator, projects=["web", "nope"])

    status = SourceSentry(config=config).check(logging.getLogger("airbyte"), config)

    assert status.status == Status.FAILED
    assert f"Project 'nope' was not found in organization 'acme' on {emulator.url} (404)." in status.message
    assert [(r.method, r.path) for r in emulator.requests][0] == ("HEAD", "/api/0/")

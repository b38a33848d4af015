"""Configuration: host names and base URLs, project selection, start date."""
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from airbyte_cdk.models import SyncMode
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from conftest import NOW
from harness import config_for, ground_truth, ids_of, read, records_of
from source_sentry import SourceSentry

MANIFEST = yaml.safe_load((Path(__file__).resolve().parents[1] / "source_sentry" / "manifest.yaml").read_text())


HOSTNAMES = [
    ("sentry.io", "https://sentry.io/api/0"),
    ("de.sentry.io", "https://de.sentry.io/api/0"),
    ("us.sentry.io/", "https://us.sentry.io/api/0"),
    ("sentry.example.com", "https://sentry.example.com/api/0"),
    ("example.com/sentry", "https://example.com/sentry/api/0"),
    ("http://sentry.internal:9000", "http://sentry.internal:9000/api/0"),
    ("https://example.com/sentry", "https://example.com/sentry/api/0"),
    ("https://example.com/sentry/", "https://example.com/sentry/api/0"),
    ("https://sentry.io/api/0/", "https://sentry.io/api/0"),
    ("http://10.0.0.5:9000/api/0", "http://10.0.0.5:9000/api/0"),
]
SPEC_HOSTNAME_PATTERN = re.compile(MANIFEST["spec"]["connection_specification"]["properties"]["hostname"]["pattern"])


def api_base_of(tmp_path, config):
    """The base URL the connector calls: its normalized config, as `configure` returns it."""
    return SourceSentry(config=config).configure(config, str(tmp_path))["api_base"]


@pytest.mark.parametrize("hostname, api_base", [(None, "https://sentry.io/api/0"), *HOSTNAMES])
def test_hostname_becomes_the_api_base_url(tmp_path, hostname, api_base):
    config = {"auth_token": "token", "organization": "acme"}
    if hostname is not None:
        config["hostname"] = hostname
    assert api_base_of(tmp_path, config) == api_base


def platform_allowed_host(value: str) -> str:
    """The host Airbyte's platform allows for metadata.yaml's "${hostname}": a model of
    airbyte-platform's ConfigReplacer.kt, String.sanitize(). A value with "://" goes through
    java.net.URI(...).toURL().host, which works for schemes Java knows and URIs it can parse; any
    other value (a bare host is prefixed "x://", which Java does not know) is cut after "://",
    before the first "/" and after an "@", and nothing else."""
    if "://" in value and value.split("://")[0] in ("http", "https", "ftp") and not re.search(r"[\s\"<>{}|\\^`]", value):
        return urlsplit(value).hostname or ""
    host = value.split("://")[1] if "://" in value else value
    host = host.split("/")[0]
    return (host.split("@")[1] if "@" in host else host).replace("/", "")


@pytest.mark.parametrize("value, host", [  # the platform's own expectations (ConfigReplacerTest.kt)
    ("basic.com", "basic.com"), ("http://basic.com", "basic.com"), ("http://user:password@basic.com/some/path", "basic.com"),
    ("mongo+srv://user:password@basic.com/some/path", "basic.com"), ("ftp://user:password@protected-site.com/some-route", "protected-site.com"),
])
def test_the_model_of_the_platforms_host_reduction_meets_the_platforms_tests(value, host):
    assert platform_allowed_host(value) == host


@pytest.mark.parametrize("hostname", [hostname for hostname, _ in HOSTNAMES])
def test_given_an_accepted_hostname_then_airbytes_allowed_host_is_the_host_the_connector_calls(tmp_path, hostname):
    assert SPEC_HOSTNAME_PATTERN.match(hostname)
    api_base = api_base_of(tmp_path, {"auth_token": "token", "organization": "acme", "hostname": hostname})
    assert platform_allowed_host(hostname) == urlsplit(api_base).hostname


@pytest.mark.parametrize("hostname, allowed_host, message", [
    (" us.sentry.io/ ", " us.sentry.io", "hostname ' us.sentry.io/ ' has spaces around it: remove them."),
    ("https://sentry.io ", "sentry.io ", "hostname 'https://sentry.io ' has spaces around it: remove them."),
    ("sentry.internal:9000", "sentry.internal:9000", "hostname 'sentry.internal:9000' has a port but no scheme: write it as a URL, "
                                                     "https://sentry.internal:9000 or http://sentry.internal:9000."),
    ("sentry.internal:9000/sentry", "sentry.internal:9000", "hostname 'sentry.internal:9000/sentry' has a port but no scheme: write it as a URL, "
                                                            "https://sentry.internal:9000/sentry or http://sentry.internal:9000/sentry."),
])
def test_given_a_hostname_airbyte_would_reduce_to_another_host_then_it_is_refused_in_one_sentence(tmp_path, hostname, allowed_host, message):
    assert platform_allowed_host(hostname) == allowed_host  # not the host the connector would call
    assert not SPEC_HOSTNAME_PATTERN.match(hostname)
    with pytest.raises(AirbyteTracedException) as refused:
        SourceSentry(config={"auth_token": "token", "organization": "acme", "hostname": hostname})
    assert refused.value.message == message


@pytest.mark.parametrize("hostname", ["http://bad host", "ftp://sentry.io", "https://sentry.io?x=1", "https://user@sentry.io", "sentry.io#x", "-sentry.io"])
def test_given_a_hostname_that_is_no_host_then_the_spec_pattern_and_the_config_check_both_refuse_it(hostname):
    assert not SPEC_HOSTNAME_PATTERN.match(hostname)
    with pytest.raises(AirbyteTracedException) as refused:
        SourceSentry(config={"auth_token": "token", "organization": "acme", "hostname": hostname})
    assert refused.value.message.startswith(f"hostname '{hostname}' is not a host such as sentry.io")


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

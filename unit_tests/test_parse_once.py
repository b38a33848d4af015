"""Each page is parsed once (source_sentry/parse_once.py), and a page that is not JSON is still retried."""
from collections import Counter

import orjson
import pytest
import requests

import source_sentry.parse_once as parse_once
from harness import config_for, ground_truth, ids_of, read, records_of


@pytest.fixture
def parses(monkeypatch):
    """Counts the connector's JSON parses: orjson in parse_once, and the stdlib parse of requests'
    Response.json() (which the CDK's error-handler predicate uses)."""
    counts: Counter = Counter()

    class CountingOrjson:
        JSONDecodeError = orjson.JSONDecodeError

        @staticmethod
        def loads(body):
            counts["orjson"] += 1
            return orjson.loads(body)

    real_json = requests.Response.json

    def counting_json(self, **kwargs):
        counts["Response.json"] += 1
        return real_json(self, **kwargs)

    monkeypatch.setattr(parse_once, "orjson", CountingOrjson)
    monkeypatch.setattr(requests.Response, "json", counting_json)
    return counts


@pytest.mark.parametrize("stream", ["events", "issues", "releases"])
def test_given_a_sync_when_reading_then_each_page_is_parsed_once(emulator, parses, stream):
    output = read(config_for(emulator), [stream])

    assert sorted(map(str, ids_of(records_of(output, stream)))) == sorted(map(str, ids_of(ground_truth(emulator.dataset, stream))))
    answered = len(emulator.requests)
    assert answered >= 3  # several pages (and windows, projects or statuses)
    assert parses == Counter(orjson=answered)


def test_given_a_page_that_is_not_json_when_reading_then_the_manifest_handler_retries_it(emulator, parses):
    emulator.faults.add(r"/releases/$", "invalid_json", times=1)

    output = read(config_for(emulator), ["releases"])

    assert sorted(ids_of(records_of(output, "releases"))) == sorted(ids_of(ground_truth(emulator.dataset, "releases")))
    answered = len(emulator.requests)
    # only the broken page goes on to the manifest's error handler: its predicate and its message
    # parse the body with the stdlib once each
    assert parses == Counter(orjson=answered, **{"Response.json": 2})

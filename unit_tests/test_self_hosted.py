"""Self-hosted Sentry sends no X-Sentry-Rate-Limit-* headers and never answers 429 itself
(src/sentry/middleware/ratelimit.py: RatelimitMiddleware.process_view returns first thing when
settings.SENTRY_SELF_HOSTED); only a proxy in front of it may. Pacing works without the headers."""
from __future__ import annotations

import re
import threading

import pytest

from fault_matrix import keys, matrix_dataset, url_of
from harness import STREAMS, config_for, ground_truth, read, records_of


@pytest.fixture(scope="module")
def dataset():
    return matrix_dataset()


def test_given_self_hosted_sentry_behind_a_proxy_that_answers_429_when_syncing_every_stream_then_every_record_arrives_once(
    emulator_factory, dataset
):
    emulator = emulator_factory(dataset, self_hosted=True)
    emulator.faults.add(r"/events/$", "429_proxy", every=2, times=2)  # an HTML page, no Retry-After
    emulator.faults.add(r"/issues/$", "429_retry_after", every=2, times=1, retry_after=1)
    emulator.faults.add(r"/organizations/acme/projects/$", "429_proxy", times=1)
    emulator.faults.add(r"/releases/$", "429_proxy", every=3, times=1)

    output = read(config_for(emulator), list(STREAMS))

    assert output.errors == []
    for stream in STREAMS:
        synced = keys(stream, records_of(output, stream))
        assert synced == keys(stream, ground_truth(dataset, stream)) and max(synced.values()) == 1, stream
    log = emulator.requests
    limited = [(position, r) for position, r in enumerate(log) if r.status == 429]
    assert len(limited) == 5
    for position, request in limited:
        assert url_of(request) in [url_of(later) for later in log[position + 1:] if later.status == 200]
    lines = [m.log.message for m in output.logs]
    assert not [line for line in lines if "rate-limit window" in line]  # nothing to wait for without headers
    assert len([line for line in lines if line.startswith("Retrying GET ") and "rate limited (429)" in line]) == 5


def test_given_no_rate_limit_headers_when_two_projects_are_read_side_by_side_then_their_requests_overlap(emulator_factory, dataset):
    """Until an endpoint's first answer the budget sends one request at a time; an answer without
    X-Sentry-Rate-Limit-ConcurrentLimit must then lift that, not keep the endpoint at one."""
    emulator = emulator_factory(dataset, self_hosted=True)
    arrived, overlapped = [], []
    third_arrived = threading.Event()

    def hold_the_second_until_a_third(path, query):
        if not re.search(r"^/api/0/projects/[^/]+/[^/]+/events/$", path):  # the project events endpoint
            return
        arrived.append(path)
        if len(arrived) == 2:  # held in flight: another request can only come if overlap is allowed
            overlapped.append(third_arrived.wait(timeout=10))
        elif len(arrived) == 3:
            third_arrived.set()

    emulator.on_request(hold_the_second_until_a_third)
    output = read(config_for(emulator), ["events"])

    assert overlapped == [True], "the third request waited for the second: the endpoint stayed at one at a time"
    assert keys("events", records_of(output, "events")) == keys("events", ground_truth(dataset, "events"))

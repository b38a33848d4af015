"""Every fault on every endpoint the connector calls, parents included: each cell delivers the
exact record set once, and each retry reaches Sentry (never a cache). Tables: fault_matrix.py.

A row's eleven faults fall in two reads (four for the 3-retry requests of explore.py, eleven
checks for `check`), each read's faults on one request and its retries, one fault per try: each
cell is asserted on its own try. unit_tests/test_faults.py has each kind alone on a read of events,
and bench/fault_matrix.py runs every cell alone."""
from __future__ import annotations

import pytest

from explore_harness import expected_rows, utc
from fault_matrix import CHECK, ENDPOINTS, FAULTS, SPANS_QUERY, CaseResult, Endpoint, keys, matrix_dataset, retries_of, run_row, url_of
from harness import STREAMS, config_for, ground_truth, read, records_of


@pytest.fixture(scope="module")
def dataset():
    return matrix_dataset()


@pytest.mark.waits(seconds=8)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[endpoint.name for endpoint in ENDPOINTS])
def test_given_each_fault_on_an_endpoint_when_syncing_then_the_retry_reaches_sentry_and_every_record_arrives_once(
    emulator_factory, dataset, endpoint, subtests
):
    cases = run_row(emulator_factory, dataset, endpoint)
    assert sorted(fault.name for case in cases for fault in case.faults) == sorted(fault.name for fault in FAULTS)
    for case in cases:
        for try_number, fault in enumerate(case.faults, start=1):
            with subtests.test(fault=fault.name):
                assert_cell(endpoint, case, try_number)


def assert_cell(endpoint: Endpoint, case: CaseResult, try_number: int) -> None:
    """The fault that fell on try `try_number` of the request (the read's faults take the request's
    tries in turn, fault_matrix.run_case)."""
    assert case.rules[try_number - 1].fired == 1, "the fault never hit the endpoint: fix the row"
    faulted = [r for r in case.endpoint_requests if r.fault]
    assert [r.fault for r in faulted] == [fault.kind for fault in case.faults]
    if endpoint.streams == CHECK:
        # any answer, even a broken one, shows the host is there: check goes on and succeeds
        assert case.check_status == {"status": "SUCCEEDED"}
        assert len(case.endpoint_requests) == 1
        return

    assert case.errors == []
    for stream, records in case.records.items():
        assert keys(stream, records) == keys(stream, case.expected[stream])
        assert max(keys(stream, records).values()) == 1  # no duplicate
    # the faults fell on one request, try after try, and each try after a fault reached the emulator
    # (never a cache): the last one was answered as is
    assert len({url_of(r) for r in faulted}) == 1
    position = case.endpoint_requests.index(faulted[try_number - 1])
    assert url_of(faulted[0]) in [url_of(r) for r in case.endpoint_requests[position + 1:]]
    last = case.endpoint_requests.index(faulted[-1])
    assert url_of(faulted[0]) in [url_of(r) for r in case.endpoint_requests[last + 1:] if not r.fault]
    # the wait before the retry was announced: the request, when, why, which retry (waits.py)
    announced = f"Retrying GET {case.url}{faulted[0].path}"
    retry = f"(retry {try_number} of {retries_of(endpoint)}): "
    assert [line for line in case.logs if line.startswith(announced) and " UTC, in " in line and retry in line]
    # each request of the endpoint was answered as is once, plus the faulted tries
    served = [url_of(r) for r in case.endpoint_requests if not r.fault]
    assert len(set(served)) == len(served) == len(case.endpoint_requests) - len(case.faults)


@pytest.mark.waits(seconds=14)
def test_given_faults_spread_over_every_endpoint_when_syncing_every_stream_then_one_run_delivers_every_record_once(
    emulator_factory, dataset
):
    emulator = emulator_factory(dataset)
    # one fault on each endpoint of the table, the kinds in turn, and 1% of every kind anywhere
    # (the matrix above is what isolates each parent: here a parent and a stream share a path)
    read_endpoints = [endpoint for endpoint in ENDPOINTS if endpoint.streams != CHECK]
    one_each = [
        emulator.faults.add(endpoint.path, FAULTS[index % len(FAULTS)].kind, every=endpoint.nth, times=1, **FAULTS[index % len(FAULTS)].options)
        for index, endpoint in enumerate(read_endpoints)
    ]
    for seed, fault in enumerate(FAULTS):
        emulator.faults.add(r"^/api/0/.", fault.kind, probability=0.01, seed=seed, **fault.options)

    # an explore query too, from its default start (29 days back for spans: the first window's start
    # as the read sent it), so that the other streams keep their own defaults
    output = read(config_for(emulator, explore_queries=[SPANS_QUERY]), [*STREAMS, "explore_spans"])

    assert output.errors == []
    for stream in STREAMS:
        synced = keys(stream, records_of(output, stream))
        assert synced == keys(stream, ground_truth(dataset, stream)) and max(synced.values()) == 1, stream
    first_window = min(r.query["start"][0] for r in emulator.requests if r.path.endswith("/events/") and r.query.get("dataset") == ["spans"])
    explored = keys("explore_spans", records_of(output, "explore_spans"))
    expected = expected_rows(dataset, "spans", SPANS_QUERY["fields"], since=utc(first_window))
    assert explored == keys("explore_spans", expected) and max(explored.values()) == 1
    log = emulator.requests
    faulted = [(position, r) for position, r in enumerate(log) if r.fault]
    assert [rule.fired for rule in one_each] == [1] * len(read_endpoints)
    for position, request in faulted:  # each retried, and the retry reached the emulator
        assert url_of(request) in [url_of(later) for later in log[position + 1:] if not later.fault]

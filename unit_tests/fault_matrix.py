"""The fault matrix: every endpoint the connector calls (parents included) x every kind of fault.

Two tables. ENDPOINTS: a path the connector requests, the streams whose read sends it, and which of
its requests gets the fault. FAULTS: what goes wrong, as an emulator fault kind (and its options).
`run_case` runs one read with some faults of a row, one after the other on the same request (its
try, then its retries); `run_row` runs a row in a few such reads, which unit_tests/
test_fault_matrix.py asserts on cell by cell. bench/fault_matrix.py runs each cell alone and prints
its requests and wall time.

Adding an endpoint is one Endpoint line: a regex for its paths (without the query string), the
streams to read (or CHECK for the `check` command), and config overrides that make the read send it.
"""
from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from explore_harness import expected_rows
from harness import config_for, ground_truth, key_of, read, records_of
from sentry_emulator.dataset import Dataset, build_dataset
from sentry_emulator.server import FaultRule, RequestRecord, SentryEmulator
from source_sentry import SourceSentry

CHECK = ("check",)  # the streams of a row that runs `check` instead of a read

# Two projects; two pages of events, issues, releases and the deployed releases; 26 releases with
# deploys; a page of teams, members, keys, environments; usage rows per day.
SIZES = dict(organization="acme", projects=2, events_per_project=130, issues_per_project=120, releases=130)
PROJECTS = ["web", "api"]
STATS_DAYS = 3  # organization_stats reads one day per request: 3 days, 3 or 4 requests
# An explore query over every project (10 days of spans: two windows, a schema probe first). Over
# several projects it first asks for the organization's features (global-views), and without them
# for its projects, outside any stream (source_sentry/explore.py _Api).
SPANS_QUERY = {"name": "spans", "dataset": "spans", "fields": ["span.op", "span.duration"]}
EXPLORE_DAYS = 10


def explore_config() -> Dict[str, Any]:
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=EXPLORE_DAYS)
    return {"start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "explore_queries": [SPANS_QUERY]}


def without_global_views(emulator: SentryEmulator) -> None:
    emulator.set_feature("global-views", False)


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str  # regex (re.search) on the request path, without the query string
    streams: Tuple[str, ...]  # what the case reads (CHECK: the `check` command)
    # config overrides for the read (a callable value: its value), or a callable that gives them
    config: Any = field(default_factory=dict)
    nth: int = 2  # the nth matching request gets the fault (the 2nd: a later page or partition)
    setup: Optional[Callable[[SentryEmulator], None]] = None  # what the emulator must be for the read to send it


ENDPOINTS: List[Endpoint] = [
    Endpoint("api_index", r"^/api/0/$", CHECK, nth=1),  # check's reachability HEAD
    Endpoint("org_projects", r"^/api/0/organizations/acme/projects/$", ("projects",), nth=1),
    Endpoint("org_projects_as_project_selection", r"^/api/0/organizations/acme/projects/$", ("project_keys",), nth=1),
    Endpoint("project_detail", r"^/api/0/projects/acme/[^/]+/$", ("project_detail",)),
    Endpoint("project_detail_as_project_selection", r"^/api/0/projects/acme/[^/]+/$", ("environments",), {"projects": PROJECTS}),
    Endpoint("project_events", r"^/api/0/projects/acme/[^/]+/events/$", ("events",)),
    # the events stream's pre-flight: events per project, one organization-level request (projects.py)
    Endpoint("org_events_as_project_activity", r"^/api/0/organizations/acme/events/$", ("events",), nth=1),
    # the issues stream's: errors, then issuePlatform (the 2nd)
    Endpoint("org_events_as_issue_activity", r"^/api/0/organizations/acme/events/$", ("issues",), nth=2),
    Endpoint("org_issues", r"^/api/0/organizations/acme/issues/$", ("issues",)),
    Endpoint("org_releases", r"^/api/0/organizations/acme/releases/$", ("releases",)),
    Endpoint("org_releases_as_deployed_releases", r"^/api/0/organizations/acme/releases/$", ("release_deploys",)),
    Endpoint("release_deploys", r"^/api/0/organizations/acme/releases/[^/]+/deploys/$", ("release_deploys",)),
    Endpoint("teams", r"^/api/0/organizations/acme/teams/$", ("teams",), nth=1),
    Endpoint("members", r"^/api/0/organizations/acme/members/$", ("members",), nth=1),
    Endpoint("project_keys", r"^/api/0/projects/acme/[^/]+/keys/$", ("project_keys",)),
    Endpoint("project_environments", r"^/api/0/projects/acme/[^/]+/environments/$", ("environments",)),
    Endpoint("stats_v2", r"^/api/0/organizations/acme/stats_v2/$", ("organization_stats",), {"start_date": lambda: stats_start()}),
    Endpoint("explore_events_as_schema_probe", r"^/api/0/organizations/acme/events/$", ("explore_spans",), explore_config, nth=1),
    Endpoint("explore_events", r"^/api/0/organizations/acme/events/$", ("explore_spans",), explore_config, nth=2),
    Endpoint("org_details_for_explore", r"^/api/0/organizations/acme/$", ("explore_spans",), explore_config, nth=1),
    Endpoint("org_projects_for_explore", r"^/api/0/organizations/acme/projects/$", ("explore_spans",), explore_config, nth=1,
             setup=without_global_views),
]


@dataclass(frozen=True)
class Fault:
    name: str
    kind: str  # a sentry_emulator fault kind
    options: Mapping[str, Any] = field(default_factory=dict)  # FaultInjector.add options


FAULTS: List[Fault] = [
    Fault("500_sentry", "500"),
    Fault("502_proxy_html", "502_html"),
    Fault("503_proxy_html", "503"),
    Fault("504_proxy_html", "504"),
    Fault("200_not_json", "invalid_json"),
    Fault("truncated_body", "truncated"),
    Fault("connection_reset", "reset"),
    Fault("429_sentry_detail", "429"),  # {"detail": ...} as text/html, rate-limit headers, no Retry-After
    Fault("429_sentry_bare_string", "429", {"rate_limit_body": "string"}),  # older Sentry
    Fault("429_proxy_html", "429_proxy"),  # no Retry-After, no Sentry headers
    Fault("429_proxy_retry_after", "429_retry_after", {"retry_after": 1}),
]

# A read puts several faults on one request, one per try: at most this many, so that the read's
# back-off stays a few seconds (the CDK sleeps at least 1 s before each retry).
MOST_FAULTS_PER_READ = 6


def retries_of(endpoint: Endpoint) -> int:
    """The retries the endpoint's requests get: 8 in the streams (manifest.yaml), 3 for the few
    requests made before any stream exists (source_sentry/explore.py _Api)."""
    return 3 if endpoint.name in ("org_details_for_explore", "org_projects_for_explore") else 8


def reads_of(endpoint: Endpoint, faults: Sequence[Fault] = FAULTS) -> List[List[Fault]]:
    """The row's faults, shared out between reads (round robin), each read's faults on one request
    and its retries. `check` makes one request and never retries it: one fault per check."""
    per_read = 1 if endpoint.streams == CHECK else min(MOST_FAULTS_PER_READ, retries_of(endpoint))
    count = -(-len(faults) // per_read)
    return [list(faults[index::count]) for index in range(count)]


@dataclass
class CaseResult:
    faults: List[Fault]  # in the order they fell on the request: try 1, retry 1, retry 2...
    rules: List[FaultRule]  # the emulator's rule of each fault
    records: Dict[str, List[Dict[str, Any]]]  # stream -> records emitted
    expected: Dict[str, List[Dict[str, Any]]]  # stream -> ground truth
    errors: List[str]
    check_status: Optional[Dict[str, Any]]
    requests: List[RequestRecord]  # every request the emulator received
    endpoint_requests: List[RequestRecord]  # those matching the endpoint row
    seconds: float
    logs: List[str]  # the read's log lines
    url: str  # the emulator's base URL


def matrix_dataset() -> Dataset:
    return build_dataset(now=datetime.now(timezone.utc).replace(microsecond=0), **SIZES)


def case_config(emulator: SentryEmulator, endpoint: Endpoint) -> Dict[str, Any]:
    overrides = endpoint.config() if callable(endpoint.config) else endpoint.config
    return config_for(emulator, **{key: value() if callable(value) else value for key, value in overrides.items()})


def stats_start() -> str:
    """organization_stats from STATS_DAYS - 1 days ago: a few requests, not Sentry's 90 days."""
    return (datetime.now(timezone.utc) - timedelta(days=STATS_DAYS - 1)).strftime("%Y-%m-%d")


def expected_records(dataset: Dataset, stream: str, config: Mapping[str, Any]) -> List[Dict[str, Any]]:
    if stream.startswith("explore_"):
        (query,) = [query for query in config["explore_queries"] if f"explore_{query['name']}" == stream]
        since = datetime.strptime(config["start_date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        return expected_rows(dataset, query["dataset"], query["fields"], since=since)
    rows = ground_truth(dataset, stream, config.get("projects"))
    if stream == "organization_stats" and config.get("start_date"):
        rows = [row for row in rows if row["date"] >= config["start_date"][:10]]
    return rows


def run_case(emulator: SentryEmulator, endpoint: Endpoint, faults: Sequence[Fault]) -> CaseResult:
    """The faults on the endpoint's nth request and its retries, one per try, then the row's read
    (or check). One fault: a cell alone."""
    if endpoint.setup:
        endpoint.setup(emulator)
    rules = emulator.faults.add_retries(endpoint.path, [(fault.kind, fault.options) for fault in faults], every=endpoint.nth)
    config = case_config(emulator, endpoint)
    started = time.monotonic()
    check_status, records, errors, logs = None, {}, [], []
    # what is logged before the read's own output starts (the source's construction normalizes the
    # config, and explore queries ask Sentry then: source_sentry/explore.py)
    early = _Lines()
    airbyte_logger = logging.getLogger("airbyte")
    airbyte_logger.addHandler(early)
    try:
        check_status, records, errors, logs = _run(config, endpoint)
    finally:
        airbyte_logger.removeHandler(early)
    seconds = time.monotonic() - started
    expected = {stream: expected_records(emulator.dataset, stream, config) for stream in records}
    pattern = re.compile(endpoint.path)
    log = emulator.requests
    return CaseResult(list(faults), rules, records, expected, errors, check_status, log, [r for r in log if pattern.search(r.path)],
                      seconds, early.lines + logs, emulator.url)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _run(config: Mapping[str, Any], endpoint: Endpoint) -> tuple:
    check_status, records, errors, logs = None, {}, [], []
    if endpoint.streams == CHECK:
        status = SourceSentry(config=config).check(logging.getLogger("airbyte"), config)
        check_status = {"status": status.status.name, **({"message": status.message} if status.message else {})}
    else:
        output = read(config, endpoint.streams, expect_failure=True)
        records = {stream: records_of(output, stream) for stream in endpoint.streams}
        errors = [m.trace.error.message for m in output.errors]
        logs = [m.log.message for m in output.logs]
    return check_status, records, errors, logs


def run_row(start_emulator: Callable[..., SentryEmulator], dataset: Dataset, endpoint: Endpoint,
            faults: Sequence[Fault] = FAULTS) -> List[CaseResult]:
    """Every fault of `faults` on one endpoint, in the reads `reads_of` shares them out to, each
    read with its own emulator, side by side: a read mostly sleeps in its retries' back-off."""
    if endpoint.setup:  # the setup changes the organization: the row's own copy of it, not the module's
        dataset = dataclasses.replace(dataset, organization=dict(dataset.organization))
    reads = reads_of(endpoint, faults)
    emulators = [start_emulator(dataset) for _ in reads]
    with ThreadPoolExecutor(max_workers=len(reads)) as pool:
        return list(pool.map(lambda pair: run_case(pair[0], endpoint, pair[1]), zip(emulators, reads)))


def url_of(request: RequestRecord) -> tuple:
    return request.method, request.path, tuple(sorted((k, tuple(v)) for k, v in request.query.items()))


def keys(stream: str, records: Sequence[Mapping[str, Any]]) -> Counter:
    return Counter(key_of(stream, record) for record in records)

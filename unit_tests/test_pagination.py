"""Link-header cursors are followed until results="false", over three pages and more."""
from collections import Counter
from datetime import timedelta

import pytest

from conftest import NOW
from harness import config_for, ground_truth, ids_of, read, records_of
from sentry_emulator.dataset import build_dataset

# Each project's events and issues fall in one window, over 4+ pages.
BIG = dict(organization="acme", projects=2, events_per_project=1200, issues_per_project=1200, releases=1300)


@pytest.fixture(scope="module")
def big(request):
    from sentry_emulator.server import SentryEmulator

    dataset = build_dataset(now=NOW, **BIG)
    with SentryEmulator(dataset) as emulator:
        yield dataset, emulator


@pytest.mark.parametrize("name", ["events", "issues", "releases"])
def test_given_many_pages_when_reading_then_every_page_is_fetched_once(big, name):
    dataset, emulator = big
    start = None if name == "releases" else (NOW - timedelta(days=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
    emulator.clear_log()
    output = read(config_for(emulator, start_date=start), [name])
    records = records_of(output, name)
    expected = [row for row in ground_truth(dataset, name) if start is None or _cursor(row, name) >= start]
    assert Counter(map(str, ids_of(records))) == Counter(map(str, ids_of(expected)))
    pages = [r for r in emulator.requests if r.path.rstrip("/").endswith(name) and r.path != "/api/0/organizations/acme/events/"]
    per_partition = Counter((r.path, str(r.query.get("project", r.query.get("status")))) for r in pages)
    assert min(per_partition.values()) >= 3, f"expected 3+ pages per partition, got {per_partition}"
    page_keys = [(r.path, str(r.query.get("project", r.query.get("status"))), str(r.query.get("cursor"))) for r in pages]
    assert len(page_keys) == len(set(page_keys)), "a page was fetched twice"
    # one request per page: ceil(records / 100) for each partition, nothing more
    assert len(pages) == _expected_pages(expected, name)


def test_given_a_short_page_with_more_results_when_reading_then_pagination_continues(emulator_factory):
    """Sentry's issue endpoints can answer a page shorter than the limit and still have more."""
    dataset = build_dataset(now=NOW, organization="acme", projects=1, events_per_project=5, issues_per_project=600, releases=1)
    emulator = emulator_factory(dataset)
    # 250 issues within one window need 3 pages; the first page is cut to 33 rows
    start = (NOW - timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%SZ")
    dataset.issues["web"] = [issue for issue in dataset.issues["web"] if _cursor(issue, "issues") >= start]
    short = emulator.faults.add(r"/issues/$", "short_page", times=1)
    output = read(config_for(emulator, start_date=start), ["issues"])
    assert short.fired == 1
    assert len([r for r in emulator.requests if r.path.endswith("/issues/")]) == 1 + -(-(len(dataset.issues["web"]) - 33) // 100)
    assert Counter(map(str, ids_of(records_of(output, "issues")))) == Counter(map(str, ids_of(ground_truth(dataset, "issues"))))


def test_given_many_projects_when_reading_projects_then_all_pages_are_read(emulator_factory):
    dataset = build_dataset(now=NOW, organization="acme", projects=230, events_per_project=1, issues_per_project=1, releases=1)
    emulator = emulator_factory(dataset)
    output = read(config_for(emulator), ["projects"])
    assert sorted(ids_of(records_of(output, "projects"))) == sorted(ids_of(ground_truth(dataset, "projects")))
    assert len([r for r in emulator.requests if r.path.endswith("/organizations/acme/projects/")]) == 3


def _cursor(row, name):
    from sentry_emulator.dataset import parse_datetime

    value = row["dateCreated" if name == "events" else "lastSeen"]
    return parse_datetime(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _expected_pages(expected, name):
    if name == "releases":  # one listing of every status
        return -(-len(expected) // 100)
    per_project = Counter(str(row["projectID"] if name == "events" else row["project"]["id"]) for row in expected)
    return sum(-(-count // 100) for count in per_project.values())

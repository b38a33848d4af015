"""The emulator answers as Sentry does where the connector depends on it: issue seen stats over the
window, project scoping by team membership, the last deploy per environment, and older versions."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List

import pytest
import requests

from sentry_emulator.dataset import Dataset, build_dataset
from sentry_emulator.server import SentryEmulator
from sentry_emulator.server.access import Access, TokenUser
from sentry_emulator.server.versions import SentryBehaviour, parse_version

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
AUTH = {"Authorization": "Bearer emulator-token"}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def get(emulator: SentryEmulator, path: str, params: Any = None) -> requests.Response:
    return requests.get(emulator.url + "/api/0/" + path, params=params, headers=AUTH, timeout=5)


def every_page(emulator: SentryEmulator, path: str, params: Dict[str, Any]) -> List[Dict[str, Any]]:
    rows, params = [], dict(params)
    while True:
        response = get(emulator, path, params)
        assert response.status_code == 200, response.text
        rows += response.json()
        nxt = response.links.get("next", {})
        if nxt.get("results") != "true":
            return rows
        params["cursor"] = nxt["cursor"]


def small_dataset() -> Dataset:
    return build_dataset(now=NOW, organization="acme", projects=3, events_per_project=60, issues_per_project=10, releases=40)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return small_dataset()


@pytest.fixture
def emulator_with(dataset) -> Iterator:
    started = []

    def start(**kwargs) -> SentryEmulator:
        emulator = SentryEmulator(kwargs.pop("data", None) or dataset, now=lambda: NOW, **kwargs).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


# ------------------------------------------------------------------------------ issue seen stats
def test_issue_counts_are_over_the_window_and_totals_in_lifetime(emulator_with, dataset):
    emulator = emulator_with()
    web = dataset.projects[0]
    issue = max(dataset.issues["web"], key=lambda i: int(i["count"]))
    times = sorted(t for t, _ in issue["_events"])
    middle = times[len(times) // 2]
    start, end = datetime.fromtimestamp(middle, timezone.utc), NOW
    rows = every_page(emulator, "organizations/acme/issues/", {"project": web["id"], "query": "", "start": iso(start), "end": iso(end)})
    (row,) = [r for r in rows if r["id"] == issue["id"]]
    in_window = [(t, u) for t, u in issue["_events"] if middle <= t < end.timestamp()]
    assert row["count"] == str(len(in_window)) and row["userCount"] == len({u for _, u in in_window if u})
    assert row["firstSeen"] == iso(datetime.fromtimestamp(min(t for t, _ in in_window), timezone.utc))
    assert row["lastSeen"] == iso(datetime.fromtimestamp(max(t for t, _ in in_window), timezone.utc))
    assert row["lifetime"] == {"count": issue["count"], "userCount": len({u for _, u in issue["_events"] if u}),
                               "firstSeen": issue["firstSeen"], "lastSeen": iso(datetime.fromtimestamp(times[-1], timezone.utc)),
                               "stats": None}
    assert row["filtered"] is None
    assert "_events" not in row


def test_an_issue_seen_again_grows_its_timeline_and_its_group_row(emulator_with):
    data = small_dataset()
    emulator = emulator_with(data=data)
    issue = data.issues["api"][0]
    count = int(issue["count"])
    emulator.add_issue_event(issue["id"], NOW - timedelta(seconds=5), user="id:new")
    rows = every_page(emulator, "organizations/acme/issues/", {"project": data.projects[1]["id"], "query": "", "statsPeriod": "1m"})
    assert [(r["id"], r["count"], r["lifetime"]["count"]) for r in rows] == [(issue["id"], "1", str(count + 1))]
    with pytest.raises(ValueError, match="add_issue_event"):
        emulator.update_issue(issue["id"], lastSeen=iso(NOW))


# ------------------------------------------------------------------------------ project membership
def test_default_membership_matches_the_dataset_records(dataset):
    access = Access(TokenUser(), dataset)
    assert [access.served_project(p) == p for p in dataset.projects] == [True] * 3
    assert [access.served_team(t) == t for t in dataset.teams] == [True] * len(dataset.teams)
    assert [p["slug"] for p in dataset.projects if p["isMember"]] == ["web"]


@pytest.mark.parametrize("user, absent, all_accessible", [
    (TokenUser(), ["web"], ["web", "api", "worker"]),                                   # Open Membership
    (TokenUser(open_membership=False), ["web"], ["web"]),
    (TokenUser(open_membership=False, role="owner"), ["web"], ["web", "api", "worker"]),  # global role
    (TokenUser(open_membership=False, teams=frozenset({"backend"})), ["api", "worker"], ["api", "worker"]),
])
def test_organization_endpoints_select_projects_by_membership(emulator_with, dataset, user, absent, all_accessible):
    emulator = emulator_with(user=user)

    def release_projects(params):
        rows = every_page(emulator, "organizations/acme/releases/", {"status": "", **params})
        return sorted({p["slug"] for r in rows for p in r["projects"]} & set(absent + all_accessible + ["web", "api", "worker"]))

    def covers(slugs):  # releases list every release linked to one of these projects
        return sorted({p["slug"] for r in dataset.releases for p in r["projects"] if {q["slug"] for q in r["projects"]} & set(slugs)})

    assert release_projects({}) == covers(absent)
    assert release_projects({"project": "-1"}) == covers(all_accessible)
    listed = get(emulator, "organizations/acme/projects/").json()
    assert [p["slug"] for p in listed] == ["web", "api", "worker"]  # bookmarked first, then by slug... every project
    assert sorted(p["slug"] for p in listed if p["hasAccess"]) == sorted(all_accessible)
    for project in dataset.projects:
        expected = 200 if project["slug"] in all_accessible else 403
        assert get(emulator, f"projects/acme/{project['slug']}/events/").status_code == expected
        assert get(emulator, "organizations/acme/issues/", {"project": project["id"]}).status_code == expected


def test_stats_grouped_by_project_follow_the_project_parameter(emulator_with, dataset):
    emulator = emulator_with(user=TokenUser(open_membership=False))
    query = [("field", "sum(quantity)"), ("groupBy", "category"), ("groupBy", "project"), ("interval", "1d"), ("statsPeriod", "2d")]
    ids = {p["slug"]: int(p["id"]) for p in dataset.projects}
    grouped = get(emulator, "organizations/acme/stats_v2/", query).json()["groups"]
    assert {g["by"]["project"] for g in grouped} == {ids["web"]}
    # groupBy=project not last: the 2023 endpoint reads only the last groupBy value, the query runs org-wide
    reordered = [query[0], query[2], query[1], *query[3:]]
    assert {g["by"]["project"] for g in get(emulator, "organizations/acme/stats_v2/", reordered).json()["groups"]} == set(ids.values())
    assert get(emulator, "organizations/acme/stats_v2/", query + [("project", ids["api"])]).status_code == 403


def test_an_organization_token_reads_releases_only(emulator_with, dataset):
    emulator = emulator_with(scopes={"org:ci"}, user=TokenUser(kind="organization"))
    assert len(every_page(emulator, "organizations/acme/releases/", {"status": ""})) == len(dataset.releases)
    assert get(emulator, "organizations/acme/projects/").status_code == 403
    assert get(emulator, "organizations/acme/issues/").status_code == 403


# ------------------------------------------------------------------------------ deploys
def test_deploys_list_the_last_deploy_per_project_and_environment(emulator_with):
    data = small_dataset()
    emulator = emulator_with(data=data)
    release = next(r for r in data.releases if len(r["projects"]) == 2)
    version = requests.utils.quote(release["version"], safe="")
    first = {"id": "1", "environment": "production", "dateFinished": iso(NOW - timedelta(hours=3))}
    second = {"id": "2", "environment": "production", "dateFinished": iso(NOW - timedelta(hours=2))}
    staging = {"id": "3", "environment": "staging", "dateFinished": iso(NOW - timedelta(hours=1))}
    only_api = {"id": "4", "environment": "production", "dateFinished": iso(NOW - timedelta(minutes=30))}
    data.deploys[release["version"]] = []
    release["deployCount"] = 0
    for deploy in (first, second, staging):
        emulator.add_deploy(release["version"], deploy)
    assert [d["id"] for d in get(emulator, f"organizations/acme/releases/{version}/deploys/").json()] == ["3", "2"]
    emulator.add_deploy(release["version"], only_api, projects=[release["projects"][0]["slug"]])
    listed = [d["id"] for d in get(emulator, f"organizations/acme/releases/{version}/deploys/").json()]
    assert listed == ["4", "3", "2"]  # deploy 2 is still the last one of the other project
    counted = next(r for r in get(emulator, "organizations/acme/releases/", {"status": "", "project": "-1", "query": release["version"]}).json()
                   if r["version"] == release["version"])
    assert counted["deployCount"] == 4 and counted["lastDeploy"]["id"] == "4"


# ------------------------------------------------------------------------------ older versions
def test_versions_name_the_behaviours_they_change():
    assert parse_version("21.5.0") == (21, 5, 0) and parse_version("23.11.2-rc1") == (23, 11, 2)
    current = SentryBehaviour.of(None)
    assert not (current.events_ignore_dates or current.stats_end_inclusive or current.releases_by_coalesced_date)
    assert [SentryBehaviour.of(v).events_ignore_dates for v in ("25.7.0", "25.8.0")] == [True, False]
    assert [SentryBehaviour.of(v).stats_end_inclusive for v in ("23.11.2", "23.12.0")] == [True, False]
    assert [SentryBehaviour.of(v).releases_by_coalesced_date for v in ("21.5.1", "21.6.0")] == [True, False]


def test_events_before_25_8_ignore_the_window(emulator_with, dataset):
    window = {"start": iso(NOW - timedelta(days=2)), "end": iso(NOW - timedelta(days=1))}
    old = every_page(emulator_with(sentry_version="25.7.0"), "projects/acme/web/events/", window)
    new = every_page(emulator_with(), "projects/acme/web/events/", window)
    assert len(old) == len(dataset.events["web"]) > len(new)


@pytest.mark.parametrize("version, end, days", [
    (None, "2024-05-21T00:00:00Z", 1), (None, "2024-05-20T23:59:59Z", 1),
    ("23.11.0", "2024-05-21T00:00:00Z", 2), ("23.11.0", "2024-05-20T23:59:59Z", 1),
])
def test_stats_end_before_23_12_is_inclusive(emulator_with, version, end, days):
    emulator = emulator_with(sentry_version=version)
    answer = get(emulator, "organizations/acme/stats_v2/", [("field", "sum(quantity)"), ("groupBy", "category"),
                                                          ("interval", "1d"), ("start", "2024-05-20T00:00:00Z"), ("end", end)]).json()
    assert answer["start"] == "2024-05-20T00:00:00Z"
    assert len(answer["intervals"]) == days


def test_releases_before_21_6_are_ordered_by_release_date(emulator_with):
    data = small_dataset()
    emulator = emulator_with(data=data, sentry_version="21.5.0")
    oldest = min(data.releases, key=lambda r: r["dateCreated"])
    oldest["dateReleased"] = iso(NOW)
    emulator.invalidate_cache()
    rows = every_page(emulator, "organizations/acme/releases/", {"status": "archived", "project": "-1"})
    assert rows[0]["id"] == oldest["id"] and len(rows) == len(data.releases)  # no status filter either
    current = every_page(emulator_with(data=data), "organizations/acme/releases/", {"status": "", "project": "-1"})
    assert current[-1]["id"] == oldest["id"]

"""The Sentry emulator answers like sentry.io: pagination, filters, auth, rate limits and faults."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Dict, Iterator, List, Optional, Tuple
from urllib.parse import quote

import pytest
import requests

from sentry_emulator.dataset import Dataset
from sentry_emulator.server import RateLimitRule, SentryEmulator

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
TOKEN = "emulator-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WEIRD_VERSION = "web@1.0.0+build (42) rc"

N_EVENTS = 250
N_ISSUES = 230
N_RELEASES = 230


def iso(moment: datetime, fraction: bool = True) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if fraction else "%Y-%m-%dT%H:%M:%SZ")


def issue_status(i: int) -> str:
    if i % 5 == 0:
        return "resolved"
    if i % 7 == 0:
        return "ignored"
    return "unresolved"


def issue_last_seen(i: int) -> datetime:
    # Groups of three issues share the same second, so score ties straddle page boundaries.
    return NOW - timedelta(minutes=10 * (i // 3), microseconds=i)


def make_dataset() -> Dataset:
    projects = [
        {"id": "13", "slug": "worker", "name": "Worker", "dateCreated": iso(NOW - timedelta(days=3))},
        {"id": "11", "slug": "web", "name": "Web", "dateCreated": iso(NOW - timedelta(days=9)), "_internal": 1},
        {"id": "12", "slug": "api", "name": "API", "dateCreated": iso(NOW - timedelta(days=5))},
    ]
    details = {p["slug"]: {**p, "features": [], "_secret": "x"} for p in projects}
    events = {
        "web": [
            {
                "id": f"{i:032x}",
                "eventID": f"{i:032x}",
                "projectID": "11",
                "title": f"Error {i}",
                "dateCreated": iso(NOW - timedelta(minutes=i, microseconds=500)),
                "entries": [{"type": "message"}],
                "contexts": {},
                "_private": True,
            }
            for i in range(N_EVENTS)
        ],
        "api": [],
    }
    issues = {
        "web": [
            {
                "id": str(1000 + i),
                "shortId": f"WEB-{i}",
                "status": issue_status(i),
                "lastSeen": iso(issue_last_seen(i)),
                "firstSeen": iso(NOW - timedelta(days=2, minutes=i)),
                "count": str(i),
                "project": {"id": "11", "slug": "web"},
            }
            for i in range(N_ISSUES)
        ],
        "api": [
            {
                "id": "5000",
                "status": "unresolved",
                "lastSeen": iso(NOW - timedelta(days=100)),  # outside the default 90-day window
                "firstSeen": iso(NOW - timedelta(days=120)),
                "project": {"id": "12", "slug": "api"},
            }
        ],
    }
    releases = [
        {
            "id": i,
            "version": f"web@1.0.{i}",
            "dateCreated": iso(NOW - timedelta(hours=i)),
            "_status": "archived" if i % 10 == 0 else "open",
        }
        for i in range(1, N_RELEASES + 1)
    ]
    releases.append({"id": 9999, "version": WEIRD_VERSION, "dateCreated": iso(NOW - timedelta(days=30)), "_status": "open"})
    usage = []
    for day in range(3):
        date = (NOW - timedelta(days=day)).strftime("%Y-%m-%dT00:00:00Z")
        usage += [
            {"date": date, "category": "error", "outcome": "accepted", "project_id": 11, "quantity": 10 + day},
            {"date": date, "category": "error", "outcome": "filtered", "project_id": 11, "quantity": 2},
            {"date": date, "category": "transaction", "outcome": "accepted", "project_id": 12, "quantity": 100},
            {"date": date, "category": "default", "outcome": "accepted", "project_id": 12, "quantity": 1},
        ]
    return Dataset(
        organization={"id": "1", "slug": "acme", "name": "Acme"},
        projects=projects,
        project_details=details,
        events=events,
        issues=issues,
        releases=releases,
        teams=[{"id": str(i), "slug": f"team-{i:02d}"} for i in range(5)],
        members=[{"id": str(i)} for i in (3, 1, 20, 2)],
        project_keys={"web": [{"id": f"pk{i}", "_id": 100 + i, "isActive": i != 2} for i in range(13)]},
        environments={"web": [{"id": "1", "name": "production"}, {"id": "2", "name": "dev", "isHidden": True}]},
        deploys={WEIRD_VERSION: [{"id": "1", "environment": "staging", "dateFinished": iso(NOW - timedelta(days=2))},
                                 {"id": "2", "environment": "production", "dateFinished": iso(NOW - timedelta(days=1))}]},
        usage=usage,
    )


@pytest.fixture(scope="module")
def shared() -> Iterator[SentryEmulator]:
    with SentryEmulator(make_dataset(), now=lambda: NOW) as emulator:
        yield emulator


@pytest.fixture
def fresh() -> Iterator[SentryEmulator]:
    with SentryEmulator(make_dataset(), now=lambda: NOW) as emulator:
        yield emulator


def get(emulator: SentryEmulator, path: str, params=None, headers=None, **kwargs) -> requests.Response:
    return requests.get(emulator.url + "/api/0/" + path, params=params, headers=AUTH if headers is None else headers,
                        timeout=kwargs.pop("timeout", 5), **kwargs)


LINK_RE = re.compile(r'<([^>]*)>; rel="(previous|next)"; results="(true|false)"; cursor="([^"]*)"')


def links(response: requests.Response) -> Dict[str, Tuple[str, bool, str]]:
    return {rel: (url, results == "true", cursor) for url, rel, results, cursor in LINK_RE.findall(response.headers["Link"])}


def paginate(emulator: SentryEmulator, path: str, params=None, hook=None) -> Tuple[List[dict], List[requests.Response]]:
    url: Optional[str] = emulator.url + "/api/0/" + path
    rows: List[dict] = []
    responses = []
    first = True
    while url:
        response = requests.get(url, params=params if first else None, headers=AUTH, timeout=5)
        first = False
        assert response.status_code == 200, response.text
        responses.append(response)
        rows += response.json()
        if hook:
            hook(len(responses))
        next_url, has_more, _ = links(response)["next"]
        url = next_url if has_more else None
        assert len(responses) < 50
    return rows, responses


# ------------------------------------------------------------------------------ pagination
def test_events_paginate_over_three_pages_newest_first(shared):
    rows, responses = paginate(shared, "projects/acme/web/events/")
    assert len(responses) == 3
    assert [r["id"] for r in rows] == [f"{i:032x}" for i in range(N_EVENTS)]
    first = links(responses[0])
    assert first["previous"][1:] == (False, "0:0:1")
    assert first["next"][1:] == (True, "0:100:0")
    assert links(responses[1])["next"][2] == "0:200:0"
    assert links(responses[2])["next"][1:] == (False, "0:300:0")  # always present, results="false" at the end


def test_link_header_has_the_exact_sentry_format(shared):
    response = get(shared, "projects/acme/web/events/", params={"per_page": 50, "full": "true"})
    base = f"{shared.url}/api/0/projects/acme/web/events/?per_page=50&full=true"
    assert response.headers["Link"] == (
        f'<{base}&cursor=0:0:1>; rel="previous"; results="false"; cursor="0:0:1", '
        f'<{base}&cursor=0:50:0>; rel="next"; results="true"; cursor="0:50:0"'
    )
    follow = requests.get(links(response)["next"][0], headers=AUTH, timeout=5)
    assert follow.headers["Link"].count("cursor=") == 4  # the old cursor is replaced, not repeated
    assert links(follow)["previous"][1:] == (True, "0:0:1")


def test_events_summary_unless_full_and_private_keys_stripped(shared):
    summary = get(shared, "projects/acme/web/events/", params={"per_page": 1}).json()[0]
    assert "entries" not in summary and "_private" not in summary and summary["title"] == "Error 0"
    assert "event.type" in summary  # SimpleEventSerializer keys, missing ones as null
    for full in ("true", "1"):
        body = get(shared, "projects/acme/web/events/", params={"per_page": 1, "full": full}).json()[0]
        assert body["entries"] == [{"type": "message"}] and "_private" not in body


def test_projects_ordered_by_slug_with_offset_paginator_cursors(shared):
    rows, responses = paginate(shared, "organizations/acme/projects/", params={"per_page": 2})
    assert [p["slug"] for p in rows] == ["api", "web", "worker"]
    assert [links(r)["next"][2] for r in responses] == ["2:1:0", "2:2:0"]
    assert links(responses[-1])["next"][1] is False
    assert all("_internal" not in p for p in rows)


def test_per_page_and_cursor_validation(shared):
    too_big = get(shared, "projects/acme/web/events/", params={"per_page": 101})
    assert too_big.status_code == 400
    assert too_big.json() == {"detail": "Invalid per_page value. Must be between 1 and 100."}
    assert get(shared, "organizations/acme/projects/", params={"per_page": "x"}).json() == {"detail": "Invalid per_page parameter."}
    for bad in ("abc", "1:2", "a:b:c"):
        response = get(shared, "projects/acme/web/events/", params={"cursor": bad})
        assert response.status_code == 400 and response.json() == {"detail": "Invalid cursor parameter."}


def test_other_list_endpoints(shared):
    teams, _ = paginate(shared, "organizations/acme/teams/", params={"per_page": 2})
    assert [t["slug"] for t in teams] == [f"team-{i:02d}" for i in range(5)]
    members, _ = paginate(shared, "organizations/acme/members/")
    assert [m["id"] for m in members] == ["1", "2", "3", "20"]
    keys, key_pages = paginate(shared, "projects/acme/web/keys/")
    assert len(key_pages) == 2 and len(key_pages[0].json()) == 10  # default page size 10, like Sentry
    assert [k["id"] for k in keys] == [f"pk{i}" for i in range(12, -1, -1)]
    assert "_id" not in keys[0]
    assert [k["id"] for k in get(shared, "projects/acme/web/keys/", params={"status": "inactive"}).json()] == ["pk2"]
    envs = get(shared, "projects/acme/web/environments/")
    assert [e["name"] for e in envs.json()] == ["production"] and "Link" not in envs.headers
    everything = get(shared, "projects/acme/web/environments/", params={"visibility": "all"}).json()
    assert [e["name"] for e in everything] == ["dev", "production"]
    assert get(shared, "projects/acme/web/environments/", params={"visibility": "x"}).status_code == 400


# ------------------------------------------------------------------------------ issues
def hand_made_event_seconds(i: int) -> List[int]:
    """The events the emulator gives hand-made issue i (it has no _events): `count` of them spread
    evenly from firstSeen to lastSeen, in whole seconds (one at lastSeen when count < 2)."""
    first = int((NOW - timedelta(days=2, minutes=i)).timestamp())
    last = int(issue_last_seen(i).timestamp())
    if i < 2:
        return [last]
    return [first + (last - first) * k // (i - 1) for k in range(i)]


def all_issue_ids(emulator, path, params) -> List[str]:
    rows, _ = paginate(emulator, path, params=params)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))
    return ids


def expected_issues(pred) -> List[str]:
    chosen = [i for i in range(N_ISSUES) if pred(i)]
    # sort=date: lastSeen second (desc), then id (desc)
    chosen.sort(key=lambda i: (int(issue_last_seen(i).timestamp()), 1000 + i), reverse=True)
    return [str(1000 + i) for i in chosen]


def test_issues_default_query_hides_resolved_and_ignored(shared):
    unresolved = expected_issues(lambda i: issue_status(i) == "unresolved")
    assert all_issue_ids(shared, "projects/acme/web/issues/", {"limit": 40}) == unresolved
    assert all_issue_ids(shared, "organizations/acme/issues/", {"limit": 40, "project": "11"}) == unresolved


def test_issues_empty_query_returns_every_issue_across_pages(shared):
    every = expected_issues(lambda i: True)
    ids = all_issue_ids(shared, "projects/acme/web/issues/", {"query": "", "limit": 100})
    assert ids == every and len(ids) == N_ISSUES
    # The organization endpoint's window ends (exclusively) at now by default: issue 1000's last
    # event is at now exactly, so the window is given here.
    window = {"start": iso(NOW - timedelta(days=3)), "end": iso(NOW + timedelta(seconds=1))}
    assert all_issue_ids(shared, "organizations/acme/issues/", {"query": "", "project": "-1", "limit": 100, **window}) == every
    resolved = all_issue_ids(shared, "projects/acme/web/issues/", {"query": "is:resolved"})
    assert resolved == expected_issues(lambda i: issue_status(i) == "resolved")
    archived = all_issue_ids(shared, "projects/acme/web/issues/", {"query": "is:archived"})
    assert archived == expected_issues(lambda i: issue_status(i) == "ignored")


def test_issue_cursors_are_second_scores_in_milliseconds(shared):
    response = get(shared, "projects/acme/web/issues/", params={"query": "", "limit": 10})
    value, offset, is_prev = links(response)["next"][2].split(":")
    eleventh = expected_issues(lambda i: True)[10]
    i = int(eleventh) - 1000
    assert int(value) == int(issue_last_seen(i).timestamp()) * 1000 and is_prev == "0"
    first_page = [int(x) - 1000 for x in expected_issues(lambda i: True)[:10]]
    assert int(offset) == sum(1 for j in first_page if int(issue_last_seen(j).timestamp()) * 1000 == int(value)) == 1
    assert response.headers["X-Hits"] == str(N_ISSUES)
    assert response.headers["X-Sentry-Replacement-Endpoint"] == "/api/0/organizations/acme/issues/"
    assert "X-Sentry-Deprecation-Date" in response.headers


@pytest.mark.parametrize("fmt", ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%S"])
def test_last_seen_filters(shared, fmt):
    pivot = issue_last_seen(60)
    text = pivot.strftime(fmt)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    when = (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
    # Issue times have one-second granularity: whole seconds are compared with the given instant.
    for op, pred in ((">", lambda t: t > when), (">=", lambda t: t >= when), ("<", lambda t: t < when), ("<=", lambda t: t <= when)):
        ids = all_issue_ids(shared, "projects/acme/web/issues/", {"query": f"lastSeen:{op}{text}"})
        assert ids == expected_issues(lambda i: pred(int(issue_last_seen(i).timestamp()))), op
    combined = all_issue_ids(shared, "organizations/acme/issues/", {"query": f"is:unresolved lastSeen:>={text}", "project": "11"})
    assert combined == expected_issues(lambda i: issue_status(i) == "unresolved" and int(issue_last_seen(i).timestamp()) >= when)
    assert len(combined) > 10


def test_first_seen_filter_and_sort_new(shared):
    cut = iso(NOW - timedelta(days=2, minutes=50), fraction=False)
    ids = all_issue_ids(shared, "projects/acme/web/issues/", {"query": f"firstSeen:>{cut}", "sort": "new"})
    # A query of one's own replaces the implicit is:unresolved; sort=new orders by firstSeen, newest first.
    assert ids == [str(1000 + i) for i in range(50)]


def test_issue_query_and_period_validation(shared):
    bad = get(shared, "projects/acme/web/issues/", params={"query": "is:wat"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith(
        'Error parsing search query: Invalid value for "is" search, valid values are'
    )
    assert get(shared, "projects/acme/web/issues/", params={"query": "browser:chrome"}).status_code == 400
    assert get(shared, "projects/acme/web/issues/", params={"query": "lastSeen:>yesterday"}).status_code == 400
    period = get(shared, "projects/acme/web/issues/", params={"statsPeriod": "7d"})
    assert period.status_code == 400
    assert period.json() == {"detail": "Invalid stats_period. Valid choices are '', '24h', and '14d'"}
    assert get(shared, "projects/acme/web/issues/", params={"statsPeriod": ""}).status_code == 200
    assert get(shared, "projects/acme/web/issues/", params={"limit": "x"}).json() == {"detail": "invalid limit"}
    assert len(get(shared, "projects/acme/web/issues/", params={"limit": 500, "query": ""}).json()) == 100  # clamped


def test_org_issues_search_window(shared):
    # Issue 5000 was last seen 100 days ago: outside the default 90-day window, and the search
    # never looks further back than 90 days whatever the window asked for
    # (src/sentry/search/snuba/executors.py PostgresSnubaQueryExecutor.query clamps its start).
    assert all_issue_ids(shared, "organizations/acme/issues/", {"project": "12"}) == []
    assert all_issue_ids(shared, "organizations/acme/issues/", {"project": "12", "statsPeriod": "120d"}) == []
    window = {"start": iso(NOW - timedelta(days=101)), "end": iso(NOW - timedelta(days=99)), "query": ""}
    assert all_issue_ids(shared, "organizations/acme/issues/", window) == []
    start, end = NOW - timedelta(days=2, minutes=5), NOW - timedelta(days=1, hours=20)
    recent = {"start": iso(start), "end": iso(end), "query": "", "project": "11"}
    in_window = {str(1000 + i): [t for t in hand_made_event_seconds(i) if start.timestamp() <= t < end.timestamp()]
                 for i in range(N_ISSUES)}
    expected = sorted((ids for ids, times in in_window.items() if times), key=lambda i: (max(in_window[i]), i), reverse=True)
    rows, _ = paginate(shared, "organizations/acme/issues/", params=recent)
    assert [r["id"] for r in rows] == expected and len(expected) > 5
    for row in rows:  # seen stats over the window; the issue's totals in lifetime
        assert row["count"] == str(len(in_window[row["id"]])) and row["lifetime"]["count"] == str(int(row["id"]) - 1000)
        assert row["lastSeen"] == iso(datetime.fromtimestamp(max(in_window[row["id"]]), timezone.utc), fraction=False)
        assert row["filtered"] is None
    only_start = get(shared, "organizations/acme/issues/", params={"start": iso(NOW)})
    assert only_start.status_code == 400 and only_start.json() == {"detail": "start and end are both required"}
    assert get(shared, "organizations/acme/issues/", params={"project": "999"}).status_code == 403


def test_new_issues_during_pagination_do_not_shift_score_pages(fresh):
    expected = expected_issues(lambda i: True)
    counter = iter(range(100))

    def insert(page: int) -> None:
        n = next(counter)
        fresh.add_issue("web", {"id": str(9000 + n), "status": "unresolved", "lastSeen": iso(NOW + timedelta(minutes=n + 1)),
                                "firstSeen": iso(NOW)})

    rows, _ = paginate(fresh, "projects/acme/web/issues/", params={"query": "", "limit": 25}, hook=insert)
    ids = [r["id"] for r in rows]
    assert [i for i in ids if int(i) < 9000] == expected  # nothing lost, nothing repeated
    assert [i for i in ids if int(i) >= 9000] == []  # newer issues sort before the cursor: later pages do not move


def test_updated_issue_moves_to_the_front(fresh):
    fresh.update_issue("1100", lastSeen=iso(NOW + timedelta(hours=1)), status="resolved")
    top = get(fresh, "projects/acme/web/issues/", params={"query": "", "limit": 1}).json()[0]
    assert top["id"] == "1100" and top["status"] == "resolved"
    assert "1100" not in [r["id"] for r in get(fresh, "projects/acme/web/issues/", params={"limit": 100}).json()]


# ------------------------------------------------------------------------------ events date range
def event_ids(emulator, params) -> List[str]:
    rows, _ = paginate(emulator, "projects/acme/web/events/", params=params)
    return [r["id"] for r in rows]


def test_events_start_end_validation_and_exclusive_end(shared):
    for params in ({"start": iso(NOW)}, {"end": iso(NOW)}, {"start": iso(NOW), "end": iso(NOW)},
                   {"start": iso(NOW), "end": iso(NOW - timedelta(hours=1))}, {"start": "garbage", "end": iso(NOW)},
                   {"statsPeriod": "14x"}):
        response = get(shared, "projects/acme/web/events/", params=params)
        assert response.status_code == 400, params
        assert response.json() == {"detail": "Invalid date range parameters provided"}
    # Event i is at NOW - i minutes - 500us: one-second granularity puts it at the whole second before.
    start = NOW - timedelta(minutes=20, seconds=1)
    end = NOW - timedelta(minutes=10, seconds=1)  # event 10 sits exactly at `end`: excluded
    ids = event_ids(shared, {"start": iso(start, fraction=False), "end": iso(end, fraction=False)})
    assert ids == [f"{i:032x}" for i in range(11, 21)]
    same = event_ids(shared, {"start": start.isoformat(), "end": end.astimezone(timezone(timedelta(hours=2))).isoformat()})
    assert same == ids  # offsets are honoured (sent properly encoded)
    naive = event_ids(shared, {"start": start.replace(tzinfo=None).isoformat(), "end": end.strftime("%Y-%m-%dT%H:%M:%S.%f")})
    assert naive == ids


def test_events_stats_period_overrides_start_end(shared):
    ids = event_ids(shared, {"statsPeriod": "1h", "start": iso(NOW - timedelta(days=5)), "end": iso(NOW - timedelta(days=4))})
    assert ids == [f"{i:032x}" for i in range(60)]  # event 60 falls one second before NOW - 1h
    assert len(event_ids(shared, {"statsPeriod": "24h"})) == N_EVENTS


def test_inserted_events_shift_offset_pages_unless_the_window_is_pinned(fresh):
    counter = iter(range(100))

    def insert(page: int) -> None:
        n = next(counter)
        fresh.add_event("web", {"id": f"{0xf000 + n:032x}", "dateCreated": iso(NOW + timedelta(seconds=n + 1))})

    rows, _ = paginate(fresh, "projects/acme/web/events/", hook=insert)
    unpinned = [r["id"] for r in rows]
    assert len(unpinned) > len(set(unpinned))  # newest-first offsets repeat records after inserts
    assert set(unpinned) == {f"{i:032x}" for i in range(N_EVENTS)}  # and never show the new ones here

    window = {"start": iso(NOW - timedelta(days=1)), "end": iso(NOW + timedelta(seconds=1))}
    rows, _ = paginate(fresh, "projects/acme/web/events/", params=window, hook=insert)
    pinned = [r["id"] for r in rows]
    assert len(pinned) == len(set(pinned)) == N_EVENTS


# ------------------------------------------------------------------------------ releases, deploys
def test_releases_status_filter(shared):
    open_ids = [r["id"] for r in paginate(shared, "organizations/acme/releases/")[0]]
    assert len(open_ids) == N_RELEASES - N_RELEASES // 10 + 1
    assert open_ids[:3] == [1, 2, 3]  # newest dateCreated first
    archived = [r["id"] for r in paginate(shared, "organizations/acme/releases/", {"status": "archived"})[0]]
    assert archived == list(range(10, N_RELEASES + 1, 10))
    assert len(paginate(shared, "organizations/acme/releases/", {"status": ""})[0]) == N_RELEASES + 1
    bad = get(shared, "organizations/acme/releases/", params={"status": "closed"})
    assert bad.status_code == 400 and bad.json() == {"detail": "invalid value for status"}
    assert all("_status" not in r for r in get(shared, "organizations/acme/releases/").json())


def test_release_versions_are_url_encoded_in_deploy_paths(shared):
    response = get(shared, f"organizations/acme/releases/{quote(WEIRD_VERSION, safe='')}/deploys/")
    assert response.status_code == 200
    assert [d["id"] for d in response.json()] == ["2", "1"]
    assert quote(WEIRD_VERSION) in links(response)["next"][0]
    assert get(shared, "organizations/acme/releases/nope%401/deploys/").status_code == 404


# ------------------------------------------------------------------------------ auth, errors, routes
def test_authentication_errors(shared):
    for headers, detail in (
        ({}, "Authentication credentials were not provided."),
        ({"Authorization": "Bearer wrong"}, "Invalid token"),
        ({"Authorization": "Bearer"}, "Invalid token header. No credentials provided."),
    ):
        response = get(shared, "organizations/acme/projects/", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"detail": detail}
        assert response.headers["WWW-Authenticate"] == 'xBasic realm="api"'


def test_scopes():
    with SentryEmulator(make_dataset(), scopes={"project:read"}, now=lambda: NOW) as emulator:
        assert get(emulator, "projects/acme/web/").status_code == 200
        assert get(emulator, "organizations/acme/releases/").status_code == 200  # project:read suffices
        forbidden = get(emulator, "projects/acme/web/events/")
        assert forbidden.status_code == 403
        assert forbidden.json() == {"detail": "You do not have permission to perform this action."}
        assert get(emulator, "organizations/acme/issues/").status_code == 403
        assert get(emulator, "organizations/nope/issues/").status_code == 404  # lookups come before scopes
    with SentryEmulator(make_dataset(), scopes={"project:releases"}, now=lambda: NOW) as emulator:
        assert get(emulator, "organizations/acme/releases/").status_code == 200
        assert get(emulator, "organizations/acme/").status_code == 403


def test_not_found_and_project_by_id(shared):
    for path in ("organizations/nope/projects/", "projects/acme/nope/", "projects/nope/web/events/"):
        response = get(shared, path)
        assert response.status_code == 404 and response.json() == {"detail": "The requested resource does not exist"}
    by_id = get(shared, "projects/acme/11/")
    assert by_id.status_code == 200 and by_id.json()["slug"] == "web" and "_secret" not in by_id.json()
    assert get(shared, "organizations/1/").json()["slug"] == "acme"


def test_unknown_routes(shared):
    no_slash = requests.get(shared.url + "/api/0/organizations/acme/projects", timeout=5)
    assert no_slash.status_code == 404
    assert no_slash.headers["Content-Type"].startswith("text/plain")
    assert no_slash.text.startswith("Route not found, did you forget a trailing slash?\n\ntry: /api/0/organizations/acme/projects/\n")
    assert get(shared, "organizations/acme/nothing/").status_code == 404


def test_api_index_needs_no_permission_and_names_the_token_scopes(shared):
    anonymous = requests.get(shared.url + "/api/0/", timeout=5)
    assert anonymous.status_code == 200 and anonymous.json() == {"version": "0", "auth": None, "user": None}
    known = requests.get(shared.url + "/api/0/", headers=AUTH, timeout=5).json()
    assert known["version"] == "0" and "event:read" in known["auth"]["scopes"]
    head = requests.head(shared.url + "/api/0/", timeout=5)
    assert head.status_code == 200 and head.content == b""


def test_path_prefix():
    with SentryEmulator(make_dataset(), path_prefix="/sentry", now=lambda: NOW) as emulator:
        assert emulator.url.endswith("/sentry")
        response = get(emulator, "projects/acme/web/events/", params={"per_page": 5})
        assert response.status_code == 200
        assert links(response)["next"][0].startswith(emulator.url + "/api/0/projects/acme/web/events/?")


# ------------------------------------------------------------------------------ rate limits
def test_rate_limit_headers_on_every_response(shared):
    for response in (get(shared, "organizations/acme/"), get(shared, "organizations/acme/", headers={})):
        for name in ("Limit", "Remaining", "Reset", "ConcurrentLimit", "ConcurrentRemaining"):
            assert f"X-Sentry-Rate-Limit-{name}" in response.headers
        assert int(response.headers["X-Sentry-Rate-Limit-Reset"]) >= int(time.time())


def test_rate_limit_rule_answers_429_without_retry_after(fresh):
    fresh.rate_limits.append(RateLimitRule(r"/events/$", limit=3, window_seconds=3600))
    statuses = [get(fresh, "projects/acme/web/events/", params={"per_page": 1}) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert [r.headers["X-Sentry-Rate-Limit-Remaining"] for r in statuses] == ["2", "1", "0", "0"]
    limited = statuses[-1]
    assert limited.json() == {"detail": "You are attempting to use this endpoint too frequently. Limit is 3 requests in 3600 seconds"}
    assert "Retry-After" not in limited.headers
    reset = int(limited.headers["X-Sentry-Rate-Limit-Reset"])
    assert time.time() < reset <= time.time() + 3601 and reset % 3600 == 0  # fixed windows
    assert get(fresh, "projects/acme/web/").status_code == 200  # other endpoints are not limited
    assert [r.status for r in fresh.requests if r.path.endswith("/events/")] == [200, 200, 200, 429]


def test_concurrency_limit(fresh):
    import threading

    rule = RateLimitRule(r"/events/$", limit=100, window_seconds=60, concurrent_limit=1)
    fresh.rate_limits.append(rule)
    fresh.faults.add(r"/events/$", "slow", delay=2.0, times=1)
    results = {}

    def slow() -> None:
        results["slow"] = get(fresh, "projects/acme/web/events/")

    worker = threading.Thread(target=slow)
    worker.start()
    # the second request goes once the first is in flight (not after a fixed sleep: flaky under load)
    deadline = time.monotonic() + 10
    while rule._in_flight == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    second = get(fresh, "projects/acme/web/events/")
    worker.join()
    assert results["slow"].status_code == 200
    assert second.status_code == 429
    assert second.json()["detail"] == (
        "You are attempting to go above the allowed concurrency for this endpoint. Concurrency limit is 1"
    )


# ------------------------------------------------------------------------------ faults
def test_http_error_faults(fresh):
    fresh.faults.add(r"/projects/acme/web/$", "500", times=1)
    fresh.faults.add(r"/organizations/acme/$", "502_html", times=1)
    fresh.faults.add(r"/teams/$", "503", times=1)
    fresh.faults.add(r"/members/$", "504", times=1)
    err = get(fresh, "projects/acme/web/")
    assert err.status_code == 500 and err.json()["detail"] == "Internal Error" and re.fullmatch(r"[0-9a-f]{32}", err.json()["errorId"])
    for path, status in (("organizations/acme/", 502), ("organizations/acme/teams/", 503), ("organizations/acme/members/", 504)):
        response = get(fresh, path)
        assert response.status_code == status and response.headers["Content-Type"].startswith("text/html")
        assert "<html>" in response.text
        assert get(fresh, path).status_code == 200  # times=1


def test_429_fault(fresh):
    fresh.faults.add(r"/events/$", "429", times=1)
    response = get(fresh, "projects/acme/web/events/")
    assert response.status_code == 429 and "Retry-After" not in response.headers
    assert response.headers["X-Sentry-Rate-Limit-Remaining"] == "0"
    assert int(response.headers["X-Sentry-Rate-Limit-Reset"]) <= int(time.time()) + 2
    assert response.json()["detail"].startswith("You are attempting to use this endpoint too frequently.")


@pytest.mark.parametrize("body_shape", ["detail", "string"])
def test_sentrys_own_429_is_json_served_as_djangos_default_html_in_either_body_shape(body_shape):
    """ratelimit.py: HttpResponse(orjson.dumps({"detail": ...}), status=429), no content type given;
    older versions sent the message as a bare JSON string."""
    with SentryEmulator(make_dataset(), now=lambda: NOW, rate_limit_body=body_shape) as emulator:
        emulator.rate_limits.append(RateLimitRule(r"/events/$", limit=1, window_seconds=3600))
        emulator.faults.add(r"/issues/$", "429", times=1)
        limited = [get(emulator, "projects/acme/web/events/") for _ in range(2)][-1]
        faulted = get(emulator, "organizations/acme/issues/")
    message = "You are attempting to use this endpoint too frequently. Limit is 1 requests in 3600 seconds"
    for response in (limited, faulted):
        assert response.status_code == 429 and response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "Retry-After" not in response.headers and "X-Sentry-Rate-Limit-Reset" in response.headers
    assert limited.content == (b'{"detail":"' + message.encode() + b'"}' if body_shape == "detail" else b'"' + message.encode() + b'"')
    assert isinstance(faulted.json(), dict if body_shape == "detail" else str)



def test_given_faults_on_a_request_and_its_retries_then_each_try_of_that_url_gets_the_next_and_other_urls_none(fresh):
    first, second, third = fresh.faults.add_retries(
        r"/events/$", [("500", {}), ("429", {"rate_limit_body": "string"}), ("502_html", {})], every=2)
    web, other = "projects/acme/web/events/", "projects/acme/api/events/"
    responses = [
        get(fresh, web, {"per_page": "10"}),  # the 1st matching request: not picked
        get(fresh, web, {"per_page": "20"}),  # the 2nd: the first fault
        get(fresh, other, {"per_page": "20"}),  # another URL: untouched
        get(fresh, web, {"per_page": "20"}),  # its retry: the second
        get(fresh, web, {"per_page": "20"}),  # the third
        get(fresh, web, {"per_page": "20"}),  # answered as is
    ]
    assert [response.status_code for response in responses] == [200, 500, 200, 429, 502, 200]
    assert isinstance(responses[3].json(), str)  # the rule's own body shape, not the emulator's
    assert [rule.fired for rule in (first, second, third)] == [1, 1, 1]
    assert [r.fault for r in fresh.requests] == ["", "500", "", "429", "502_html", ""]

def test_self_hosted_sentry_sends_no_rate_limit_headers_and_never_limits():
    with SentryEmulator(make_dataset(), now=lambda: NOW, self_hosted=True) as emulator:
        emulator.rate_limits.append(RateLimitRule(r"/events/$", limit=1, window_seconds=3600))  # ignored
        responses = [get(emulator, "projects/acme/web/events/") for _ in range(3)] + [get(emulator, "organizations/acme/")]
        assert [r.status_code for r in responses] == [200] * 4
        assert not [name for r in responses for name in r.headers if name.lower().startswith("x-sentry-rate-limit")]
        with pytest.raises(ValueError, match="self-hosted Sentry never rate-limits"):
            emulator.faults.add(r"/events/$", "429")
        emulator.faults.add(r"/events/$", "429_proxy", times=1)  # a proxy in front of it still can
        proxied = get(emulator, "projects/acme/web/events/")
    assert proxied.status_code == 429 and proxied.headers["Content-Type"] == "text/html" and "<title>429 Too Many Requests</title>" in proxied.text
    assert "Retry-After" not in proxied.headers


def test_proxy_429_faults_carry_no_sentry_headers(fresh):
    fresh.faults.add(r"/events/$", "429_retry_after", times=1, retry_after=7)
    fresh.faults.add(r"/issues/$", "429_proxy", times=1)
    with_retry_after, page = get(fresh, "projects/acme/web/events/"), get(fresh, "organizations/acme/issues/")
    assert with_retry_after.status_code == page.status_code == 429
    assert with_retry_after.headers["Retry-After"] == "7" and "Retry-After" not in page.headers
    for response in (with_retry_after, page):
        assert not [name for name in response.headers if name.lower().startswith("x-sentry-rate-limit")]


def test_the_request_log_names_the_fault_each_request_got(fresh):
    fresh.faults.add(r"/teams/$", "503", times=1)
    fresh.faults.add(r"/members/$", "slow", delay=0.01)
    for path in ("organizations/acme/teams/", "organizations/acme/teams/", "organizations/acme/members/"):
        get(fresh, path)
    assert [(r.path.rsplit("/", 2)[-2], r.status, r.fault) for r in fresh.requests] == [
        ("teams", 503, "503"), ("teams", 200, ""), ("members", 200, ""),  # a slow answer is served as is
    ]


def test_body_and_connection_faults(fresh):
    fresh.faults.add(r"/events/$", "invalid_json", times=1)
    broken = get(fresh, "projects/acme/web/events/")
    assert broken.status_code == 200
    with pytest.raises(ValueError):
        broken.json()
    fresh.faults.add(r"/issues/$", "reset", times=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        get(fresh, "projects/acme/web/issues/")
    fresh.faults.add(r"/releases/$", "truncated", times=1)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        get(fresh, "organizations/acme/releases/")
    assert get(fresh, "organizations/acme/releases/").status_code == 200
    fresh.faults.add(r"/keys/$", "slow", delay=0.4, times=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        get(fresh, "projects/acme/web/keys/", timeout=0.1)
    statuses = {r.path: r.status for r in fresh.requests}
    assert statuses["/api/0/projects/acme/web/issues/"] == 0  # reset: no response


def test_fault_selectors(fresh):
    every = fresh.faults.add(r"/teams/$", "500", every=3)
    codes = [get(fresh, "organizations/acme/teams/").status_code for _ in range(7)]
    assert codes == [200, 200, 500, 200, 200, 500, 200] and every.fired == 2
    fresh.faults.clear()
    fresh.faults.add(r"/members/$", "503", every=2, times=2)
    codes = [get(fresh, "organizations/acme/members/").status_code for _ in range(8)]
    assert codes == [200, 503, 200, 503, 200, 200, 200, 200]
    fresh.faults.clear()
    rule = fresh.faults.add(r"/$", "500", probability=0.5, seed=7)
    codes = [get(fresh, "organizations/acme/").status_code for _ in range(20)]
    assert 0 < codes.count(500) < 20 and rule.fired == codes.count(500)
    fresh.faults.clear()
    fresh.faults.add(r"/", "latency", delay=0.05)
    started = time.time()
    get(fresh, "organizations/acme/")
    assert time.time() - started >= 0.05


def test_on_request_hook_and_log(fresh):
    seen = []
    remove = fresh.on_request(lambda path, query: seen.append((path, query)))
    get(fresh, "projects/acme/web/events/", params={"per_page": 2, "project": ["1", "2"]})
    remove()
    get(fresh, "organizations/acme/")
    assert seen == [("/api/0/projects/acme/web/events/", {"per_page": ["2"], "project": ["1", "2"]})]
    log = fresh.requests
    assert [(r.method, r.path, r.status) for r in log] == [
        ("GET", "/api/0/projects/acme/web/events/", 200),
        ("GET", "/api/0/organizations/acme/", 200),
    ]
    assert log[0].query == {"per_page": ["2"], "project": ["1", "2"]}
    fresh.clear_log()
    assert fresh.requests == []


# ------------------------------------------------------------------------------ stats_v2
def test_stats_v2_shape_and_aggregation(shared):
    params = {"field": "sum(quantity)", "groupBy": ["category", "outcome"], "interval": "1d", "statsPeriod": "3d"}
    body = get(shared, "organizations/acme/stats_v2/", params=params).json()
    assert body["start"] == "2024-05-29T00:00:00Z" and body["end"] == "2024-06-02T00:00:00Z"
    assert body["intervals"] == ["2024-05-29T00:00:00Z", "2024-05-30T00:00:00Z", "2024-05-31T00:00:00Z", "2024-06-01T00:00:00Z"]
    groups = {(g["by"]["category"], g["by"]["outcome"]): g for g in body["groups"]}
    assert groups[("error", "accepted")]["totals"] == {"sum(quantity)": 10 + 11 + 12 + 3}  # default rolls into error
    assert groups[("error", "accepted")]["series"] == {"sum(quantity)": [0, 13, 12, 11]}
    assert groups[("transaction", "accepted")]["totals"] == {"sum(quantity)": 300}
    by_project = get(shared, "organizations/acme/stats_v2/", params={
        "field": "sum(quantity)", "groupBy": "project", "category": "error", "interval": "1d", "statsPeriod": "3d"}).json()
    assert "intervals" not in by_project and all("series" not in g for g in by_project["groups"])
    assert {g["by"]["project"]: g["totals"]["sum(quantity)"] for g in by_project["groups"]} == {11: 39, 12: 3}


def test_stats_v2_validation(shared):
    cases = [
        ({"groupBy": "category"}, 'At least one "field" is required.'),
        ({"field": "sum(quantity)", "groupBy": "category", "interval": "30m"},
         "The interval has to be a multiple of the minimum interval of one hour."),
        ({"field": "sum(quantity)", "groupBy": "category", "interval": "2d"}, "The interval has to be less than one day."),
        ({"field": "sum(quantity)", "groupBy": "category", "interval": "5h"}, "The interval should divide one day without a remainder."),
        ({"field": "count()", "groupBy": "category", "statsPeriod": "1d"}, 'Invalid field: "count()"'),
        ({"field": "sum(quantity)", "groupBy": "planet", "statsPeriod": "1d"}, 'Invalid groupBy: "planet"'),
        ({"field": "sum(quantity)", "groupBy": "outcome", "statsPeriod": "1d"}, "Query must have category as groupby or filter"),
        ({"field": "sum(quantity)", "category": "bogus", "statsPeriod": "1d"}, 'Invalid category: "bogus"'),
        ({"field": "sum(quantity)", "category": "error", "outcome": "bogus", "statsPeriod": "1d"}, 'Invalid outcome: "bogus"'),
        ({"field": "sum(quantity)", "category": "error", "start": iso(NOW)}, "start and end are both required"),
    ]
    for params, detail in cases:
        response = get(shared, "organizations/acme/stats_v2/", params=params)
        assert response.status_code == 400, params
        assert response.json() == {"detail": detail}

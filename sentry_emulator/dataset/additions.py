"""Records created after the build, for tests of incremental syncs: one more event, issue or
release of an existing dataset. They are built, not inserted (SentryEmulator.add_* inserts them)."""
from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from .events import EventFactory
from .helpers import aware, base32_decode, format_datetime, parse_datetime, random_hex, seeded
from .issues import IssueFactory, stats_24h
from .model import STATUS_UNRESOLVED, Dataset, Record
from .project_facts import project_facts_of
from .releases import version_info

_CALL_COUNTER = itertools.count()


def new_event(ds: Dataset, project_slug: str, date_created: datetime) -> Record:
    """Build (do not insert) one more full event of the project, with an id no event has yet."""
    info = project_facts_of(ds, project_slug)
    issues = ds.issues.get(project_slug) or []
    if not issues:
        raise ValueError(f"project {project_slug!r} has no issue to attach an event to")
    when = aware(date_created).replace(microsecond=0)
    existing = ds.events.get(project_slug, [])
    rng = seeded("new-event", ds.organization["id"], project_slug, when.isoformat(), len(existing),
                 next(_CALL_COUNTER))
    taken = {e["id"] for e in existing}
    eid = random_hex(rng)
    while eid in taken:
        eid = random_hex(rng)
    factory = EventFactory(info, "")
    issue = issues[rng.randrange(len(issues))]
    users = factory.user_pool(rng, 20)
    envs = [e for e, hidden in info.environments if not hidden] or ["production"]
    rel = None
    candidates = [r for r in ds.releases if any(pp["slug"] == project_slug for pp in r["projects"])
                  and parse_datetime(r["dateCreated"]) <= when]
    if candidates:
        rel = max(candidates, key=lambda r: r["dateCreated"])["version"]
    return factory.build(rng, eid, issue, int(when.timestamp()), users[rng.randrange(len(users))], envs[0], rel)


def new_issue(ds: Dataset, project_slug: str, last_seen: datetime) -> Record:
    """Build (do not insert) a brand-new unresolved issue of the project seen last at last_seen."""
    info = project_facts_of(ds, project_slug)
    existing = ds.issues.get(project_slug, [])
    all_ids = [int(i["id"]) for issues in ds.issues.values() for i in issues]
    rng = seeded("new-issue", ds.organization["id"], project_slug, aware(last_seen).isoformat(),
                 len(existing), next(_CALL_COUNTER))
    issue_id = (max(all_ids) if all_ids else 5_100_000_000) + rng.randrange(1, 40_000)
    short_num = 1 + max((base32_decode(i["shortId"].rsplit("-", 1)[1]) for i in existing), default=0)
    last = aware(last_seen)
    first = last - timedelta(seconds=rng.randrange(0, 3600))
    team_refs = {t["slug"]: {"id": t["id"], "slug": t["slug"], "name": t["name"]} for t in ds.teams}
    actors = [m["user"] for m in ds.members if m.get("user")] or [None]
    versions = [r["version"] for r in ds.releases
                if any(pp["slug"] == project_slug for pp in r["projects"])][-20:]
    # nothing about a brand-new issue is later than its last event
    factory = IssueFactory(ds.organization["slug"], info, versions, actors, team_refs,
                           now=last + timedelta(seconds=1))
    issue = factory.build(rng, issue_id, short_num, first, last, 1, 1,
                          stats_24h(int(last.timestamp()), [int(last.timestamp())]),
                          status=STATUS_UNRESOLVED)
    issue["substatus"] = "new"
    issue["statusDetails"] = {}
    return issue


def new_release(ds: Dataset, date_created: datetime, status: str = "open") -> Record:
    """Build (do not insert) one more release created at date_created, "_status" = status."""
    created = aware(date_created)
    if not created.microsecond:
        created = created.replace(microsecond=(len(ds.releases) * 37 % 999 + 1) * 1000)
    rng = seeded("new-release", ds.organization["id"], created.isoformat(), len(ds.releases),
                 next(_CALL_COUNTER))
    taken = {r["version"] for r in ds.releases}
    ids = [r["id"] for r in ds.releases]
    proj = ds.projects[len(ds.releases) % len(ds.projects)] if ds.projects else None
    slug = proj["slug"] if proj else "app"
    n = len(ds.releases) + 1
    version = f"{slug}@9.{n // 100}.{n % 100}"
    while version in taken:
        n += 1
        version = f"{slug}@9.{n // 100}.{n % 100}"
    projects = []
    if proj:
        projects.append({"id": int(proj["id"]), "slug": slug, "name": proj["name"], "newGroups": 0,
                         "platform": proj["platform"], "platforms": list(proj["platforms"]),
                         "hasHealthData": False})
    return {
        "id": (max(ids) if ids else 1_100_000_000) + rng.randrange(1, 5000),
        "version": version,
        "status": status,
        "shortVersion": version,
        "versionInfo": version_info(version),
        "ref": None,
        "url": None,
        "dateReleased": None,
        "dateCreated": format_datetime(created),
        "data": {},
        "newGroups": 0,
        "owner": None,
        "commitCount": 0,
        "lastCommit": None,
        "deployCount": 0,
        "lastDeploy": None,
        "authors": [],
        "projects": projects,
        "firstEvent": None,
        "lastEvent": None,
        "currentProjectMeta": {},
        "userAgent": "sentry-cli/2.39.1",
        "_status": status,
    }

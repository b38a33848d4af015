"""Releases and their deploys.

Shapes: ReleaseSerializer (GET /organizations/{org}/releases/), DeploySerializer
(GET /organizations/{org}/releases/{version}/deploys/), CommitWithReleaseSerializer (a release's
lastCommit, an issue's statusDetails.inCommit).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Set, Tuple

from .catalogues import COMMIT_MESSAGES, FIRST_NAMES, LAST_NAMES
from .helpers import fmt_ts, format_datetime, random_hex
from .model import LONG_WINDOW, Record
from .organization import Organization
from .project_facts import ProjectInfo


@dataclass
class ReleaseTimeline:
    """What other resources need to know of the releases before their records are built."""

    rows: List[Tuple[str, List[int], datetime]]       # (version, project indices, created), oldest first
    attrs: Dict[str, Record]                           # version -> released, commits, repo, commit_release
    by_project: Dict[int, List[Tuple[datetime, str]]]  # project index -> (created, version)


@dataclass
class Deploys:
    by_version: Dict[str, List[Record]]                   # release version -> deploy records
    finished: Dict[str, List[Tuple[str, datetime]]]       # release version -> (environment, finished)


def build_release_timeline(rng: random.Random, infos: List[ProjectInfo], releases: int, organization: str,
                           now: datetime) -> ReleaseTimeline:
    """``releases`` versions spread over the projects' lifetime, with the facts commits refer to."""
    versions = _release_versions(rng, infos, releases) if infos else []
    rel_rows = []  # (version, project indices, created dt)
    base_created = min(p.created for p in infos) + timedelta(days=20) if infos else now - LONG_WINDOW
    span = (now - timedelta(hours=2) - base_created).total_seconds()
    offsets = sorted(rng.random() for _ in versions)
    for (version, pidx), frac in zip(versions, offsets):
        created = base_created + timedelta(seconds=span * frac)
        created = created.replace(microsecond=rng.randrange(1, 1000) * 1000)   # millisecond precision
        rel_rows.append((version, pidx, created))
    # attributes of each release that other records refer to (commits name the releases they are in)
    rel_attrs: Dict[str, Record] = {}
    arng = random.Random(rng.getrandbits(64))
    for version, pidx, created in rel_rows:
        released = (created + timedelta(minutes=arng.randrange(1, 90), microseconds=arng.randrange(1, 999999))
                    if arng.random() < 0.7 else None)
        if released is not None and released >= now:
            released = None
        has_commits = arng.random() < 0.45
        repo = "web" if "web" in version else "backend"
        sha = random_hex(arng, 160)
        r = arng.random()
        ref = sha if has_commits and r < 0.6 else "main" if r < 0.8 else None
        url = (f"https://github.com/{organization}/{repo}/releases/tag/{version.split('@')[-1].split(' ')[0]}"
               if arng.random() < 0.3 else None)
        rel_attrs[version] = {
            "released": released, "has_commits": has_commits, "repo": repo, "sha": sha,
            "commit_release": {"version": version, "shortVersion": version, "ref": ref, "url": url,
                               "dateReleased": format_datetime(released), "dateCreated": format_datetime(created)},
        }
    project_releases: Dict[int, List[Tuple[datetime, str]]] = {p.index: [] for p in infos}
    for version, pidx, created in rel_rows:
        for i in pidx:
            project_releases[i].append((created, version))
    return ReleaseTimeline(rel_rows, rel_attrs, project_releases)


def build_deploys(rng: random.Random, timeline: ReleaseTimeline, organization: str, now: datetime) -> Deploys:
    """Deploys of about one release in five, to staging and production."""
    rel_rows = timeline.rows
    deploys: Dict[str, List[Record]] = {}
    deploy_id = rng.randrange(40_000_000, 50_000_000)
    deploy_facts: Dict[str, List[Tuple[str, datetime]]] = {}
    n_with_deploys = max(1, len(rel_rows) // 5) if rel_rows else 0
    deployed = sorted(rng.sample(range(len(rel_rows)), n_with_deploys)) if rel_rows else []
    for idx in deployed:
        version, pidx, created = rel_rows[idx]
        envs = ["staging", "production", "production"][: rng.randrange(1, 4)]
        items = []
        t = created + timedelta(minutes=rng.randrange(2, 30))
        for env in envs:
            deploy_id += rng.randrange(1, 900)
            started = t if rng.random() < 0.7 else None
            finished = t + timedelta(seconds=rng.randrange(40, 900), microseconds=rng.randrange(1, 999999))
            finished = min(finished, now - timedelta(seconds=1))
            name = f"{version} to {env}" if rng.random() < 0.6 else None
            url = f"https://github.com/{organization}/deploys/actions/runs/{rng.randrange(10**9, 10**10)}" \
                if rng.random() < 0.5 else None
            items.append(deploy_record(deploy_id, env, started, finished, name, url))
            deploy_facts.setdefault(version, []).append((env, finished))
            t = finished + timedelta(minutes=rng.randrange(5, 240))
        deploys[version] = items
    return Deploys(deploys, deploy_facts)


def build_release_records(rng: random.Random, timeline: ReleaseTimeline, deploys: Deploys,
                          release_event_span: Dict[str, List[int]], release_new_groups: Dict[Tuple[str, int], int],
                          infos: List[ProjectInfo], org: Organization) -> List[Record]:
    """The release records, oldest first; ``release_event_span`` and ``release_new_groups`` come from
    the events and issues (first and last event, issues first seen in each release)."""
    rel_rows, rel_attrs = timeline.rows, timeline.attrs
    organization, org_created = org.record["slug"], org.created
    release_records: List[Record] = []
    release_id = rng.randrange(1_100_000_000, 1_200_000_000)
    for version, pidx, created in rel_rows:
        release_id += rng.randrange(1, 5000)
        archived = rng.random() < 0.2
        status = "archived" if archived else "open"
        attrs = rel_attrs[version]
        released, has_commits, repo, sha = attrs["released"], attrs["has_commits"], attrs["repo"], attrs["sha"]
        commit_release = attrs["commit_release"]
        ref, url = commit_release["ref"], commit_release["url"]
        last_commit = None
        authors: List[Record] = []
        commit_count = 0
        if has_commits:
            commit_count = rng.randrange(1, 40)
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            author = {"name": f"{first} {last}",
                      "email": f"{first.lower()}@users.noreply.github.com"}
            authors = [author]
            if rng.random() < 0.4:
                f2 = rng.choice(FIRST_NAMES)
                if f2 != first:
                    authors.append({"name": f"{f2} {rng.choice(LAST_NAMES)}",
                                    "email": f"{f2.lower()}@users.noreply.github.com"})
            last_commit = commit_record(sha, rng.choice(COMMIT_MESSAGES),
                                        created - timedelta(minutes=rng.randrange(5, 600)), organization, repo,
                                        "640211" if repo == "web" else "640212",
                                        org_created + timedelta(days=3), author, [commit_release])
        dep = deploys.by_version.get(version, [])
        # Release.last_deploy_id: the deploy created last (here also the one finished last)
        last_deploy = dep[-1] if dep else None
        span_ = release_event_span.get(version)
        rel_projects = []
        new_groups_total = 0
        for i in pidx:
            p = infos[i]
            ng = release_new_groups.get((version, i), 0)
            new_groups_total += ng
            rel_projects.append({"id": p.int_id, "slug": p.slug, "name": p.name, "newGroups": ng,
                                 "platform": p.platform, "platforms": list(p.platforms), "hasHealthData": False})
        release_records.append({
            "id": release_id,
            "version": version,
            "status": status,
            "shortVersion": version,
            "versionInfo": version_info(version),
            "ref": ref,
            "url": url,
            "dateReleased": format_datetime(released),
            "dateCreated": format_datetime(created),
            "data": {},
            "newGroups": new_groups_total,
            "owner": None,
            "commitCount": commit_count,
            "lastCommit": last_commit,
            "deployCount": len(dep),
            "lastDeploy": last_deploy,
            "authors": authors,
            "projects": rel_projects,
            "firstEvent": fmt_ts(span_[0]) if span_ else None,
            "lastEvent": fmt_ts(span_[1]) if span_ else None,
            "currentProjectMeta": {},
            "userAgent": rng.choice(["sentry-cli/2.39.1", "sentry-cli/2.38.2", "sentry-vite-plugin/2.22.6", None]),
            "_status": status,
        })
    return release_records


def _release_versions(rng: random.Random, projects: List[ProjectInfo], n: int) -> List[Tuple[str, List[int]]]:
    """n unique versions in creation order, each with the indices of the projects it belongs to."""
    out: List[Tuple[str, List[int]]] = []
    seen = set()
    counters = {p.slug: [1, 0, 0] for p in projects}
    shared = [1, 0, -1]
    betas = [0]
    for i in range(n):
        r = rng.random()
        proj = projects[i % len(projects)]
        c = counters[proj.slug]
        c[2] += 1
        if rng.random() < 0.15:
            c[1] += 1
            c[2] = 0
        if proj.slug == "web":
            version = f"web@{c[0]}.{c[1]}.{c[2]}+build.{rng.randrange(1, 40)}" if r < 0.7 else \
                f"web@{c[0]}.{c[1]}.{c[2]}"
            pidx = [proj.index]
        elif proj.slug == "api":
            if r < 0.12:
                betas[0] += 1
                version = f"api@{c[0] + 1}.0.0 (beta)" if betas[0] == 1 else f"api@{c[0] + 1}.0.0 (beta {betas[0]})"
            elif r < 0.3:
                version = f"api@{c[0]}.{c[1]}.{c[2]}-rc.{rng.randrange(1, 4)}"
            else:
                version = f"api@{c[0]}.{c[1]}.{c[2]}"
            pidx = [proj.index]
        elif proj.slug == "worker":
            if r < 0.35:
                shared[2] += 1
                version = f"{shared[0]}.{shared[1]}.{shared[2]}"   # plain semver shared by api + worker
                pidx = sorted({proj.index, 1 % len(projects)})
            else:
                version = random_hex(rng, 160)
                pidx = [proj.index]
        else:
            version = f"{proj.slug}@{c[0]}.{c[1]}.{c[2]}"
            pidx = [proj.index]
        while version in seen:
            version += ".1"
        seen.add(version)
        out.append((version, pidx))
    if out and all("@" in v for v, _ in out):   # always have one plain semver version
        v, pidx = out[0]
        out[0] = ("1.0.0" if "1.0.0" not in seen else "1.0.0.1", pidx)
    return out


def version_info(version: str) -> Record:
    """expose_version_info(parse_release(version)) as ReleaseSerializer renders it."""
    package: Optional[str] = None
    raw = version
    if "@" in version:
        package, raw = version.split("@", 1)
    build_code = None
    core = raw
    if "+" in raw:
        core, build_code = raw.split("+", 1)
    pre = None
    if "-" in core:
        core, pre = core.split("-", 1)
    parts = core.split(".")
    parsed = len(parts) == 3 and all(p.isdigit() for p in parts) and " " not in raw
    build_hash = None
    if not parsed and len(raw) == 40 and all(c in "0123456789abcdef" for c in raw):
        build_hash = raw
    vers: Record = {"raw": raw}
    if parsed:
        vers.update({
            "major": int(parts[0]), "minor": int(parts[1]), "patch": int(parts[2]),
            "pre": pre, "buildCode": build_code, "components": 3,
        })
        description = core + (f"-{pre}" if pre else "") + (f" ({build_code})" if build_code else "")
    elif build_hash:
        description = raw[:12]
    else:
        description = raw
    return {"package": package, "version": vers, "description": description, "buildHash": build_hash}


def commit_record(sha: str, message: str, created: datetime, org_slug: str, repo: str, repo_id: str,
                  repo_created: datetime, author: Record, releases: List[Record]) -> Record:
    """CommitWithReleaseSerializer output (the serializer registered last for Commit)."""
    return {
        "id": sha,
        "message": message,
        "dateCreated": format_datetime(created),
        "pullRequest": None,
        "suspectCommitType": "",
        "releases": releases,
        "repository": {
            "id": repo_id,
            "name": f"{org_slug}/{repo}",
            "url": f"https://github.com/{org_slug}/{repo}",
            "provider": {"id": "integrations:github", "name": "GitHub"},
            "status": "active",
            "dateCreated": format_datetime(repo_created),
            "integrationId": "182734",
            "externalSlug": f"{org_slug}/{repo}",
            "externalId": str(int(repo_id) * 7 + 11),
        },
        "author": author,
    }


def deploy_record(deploy_id: int, environment: str, started: Optional[datetime], finished: datetime,
                  name: Optional[str], url: Optional[str]) -> Record:
    return {
        "id": str(deploy_id),
        "environment": environment,
        "dateStarted": format_datetime(started),
        "dateFinished": format_datetime(finished),
        "name": name,
        "url": url,
    }


def listed_deploys(release: Record, deploys: List[Record], project_slugs: Optional[Set[str]] = None) -> List[Record]:
    """The deploys GET /organizations/{org}/releases/{version}/deploys/ lists for a release.

    Creating a deploy sets ``last_deploy_id`` on every (project, environment) row it targets (the
    release's projects, or a deploy's ``_projects``), and the endpoint lists the deploys those ids
    name (src/sentry/releases/endpoints/release_deploys.py create_deploy and
    ReleaseDeploysEndpoint.get): an environment deployed twice shows only its last deploy, while
    the release's ``deployCount`` counts every one. ``deploys`` are in creation order;
    ``project_slugs`` restricts the rows to those projects (None: every project).
    """
    release_projects = [str(p.get("slug")) for p in release.get("projects") or []] or ["*"]
    last: Dict[Tuple[str, str], Record] = {}
    for deploy in deploys:
        for slug in deploy.get("_projects") or release_projects:
            last[(slug, str(deploy.get("environment")))] = deploy
    listed: List[Record] = []
    for (slug, _), deploy in last.items():
        if project_slugs is not None and slug != "*" and slug not in project_slugs:
            continue
        if not any(deploy is kept for kept in listed):
            listed.append(deploy)
    return listed

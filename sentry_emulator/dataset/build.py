"""build_dataset(): the whole organization, one resource family after the other."""
from __future__ import annotations

import gc
import random
from datetime import datetime, timezone
from typing import Optional

from .events_and_issues import build_events_and_issues
from .explore import build_explore_rows, explore_rng
from .model import Dataset
from .organization import build_members, build_organization, build_team_refs, build_teams
from .project_facts import build_project_facts
from .projects import build_project_records
from .releases import build_deploys, build_release_records, build_release_timeline
from .usage import build_usage


def build_dataset(*, organization: str = "acme", projects: int = 3, events_per_project: int = 250,
                  issues_per_project: int = 120, releases: int = 150, seed: int = 7,
                  now: datetime | None = None, transactions_per_project: int = 60,
                  logs_per_project: int = 150) -> Dataset:
    """Build the whole organization. Same arguments -> identical records.

    now=None means the current time truncated to whole seconds; every record date lies before it:
    events and issues over the last ~80 days, projects and releases over the last ~2 years,
    usage rows over the last 30 days (today included); Explore rows (transactions with their spans,
    logs) over the last 45 and 35 days.
    """
    # Hundreds of thousands of small dicts: the cyclic GC would otherwise dominate the build time.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(organization, projects, events_per_project, issues_per_project, releases, seed,
                      _now_or(now), transactions_per_project, logs_per_project)
    finally:
        if gc_was_enabled:
            gc.enable()


def _build(organization: str, projects: int, events_per_project: int, issues_per_project: int,
           releases: int, seed: int, now: datetime, transactions_per_project: int, logs_per_project: int) -> Dataset:
    # One random stream feeds every builder, in this order: the order is part of the output (same
    # seed, same records). A new resource draws after the others, or every record changes.
    rng = random.Random(seed)
    org = build_organization(rng, organization, now)
    infos = build_project_facts(rng, projects, now)
    team_refs = build_team_refs(rng, infos)
    members, member_users = build_members(rng, organization, org.created, now)
    timeline = build_release_timeline(rng, infos, releases, organization, now)
    activity = build_events_and_issues(rng, infos, timeline, org, member_users, team_refs,
                                       events_per_project, issues_per_project, now)
    deploys = build_deploys(rng, timeline, organization, now)
    release_records = build_release_records(rng, timeline, deploys, activity.release_event_span,
                                            activity.release_new_groups, infos, org)
    project_records = build_project_records(rng, infos, release_records, timeline, deploys, team_refs, org, now)
    teams = build_teams(rng, team_refs, infos, project_records.summaries, org.created)
    usage = build_usage(rng, infos, activity.events, now)
    # Explore rows draw from their own stream: the shared one above stays exactly as it was.
    explore = build_explore_rows(explore_rng(seed), infos, timeline.by_project, now, transactions_per_project, logs_per_project)
    return Dataset(
        organization=org.record,
        projects=project_records.summaries,
        project_details=project_records.details,
        events=activity.events,
        issues=activity.issues,
        releases=release_records,
        teams=teams,
        members=members,
        project_keys=project_records.keys,
        environments=project_records.environments,
        deploys=deploys.by_version,
        usage=usage,
        explore={"spans": explore.spans, "logs": explore.logs, "transactions": explore.transactions},
    )


def _now_or(now: Optional[datetime]) -> datetime:
    if now is None:
        now = datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).replace(microsecond=0)

"""Events and issues, built together per project: every event belongs to an issue, and an issue's
count, users, firstSeen and lastSeen are those of its events. Each event names the project's latest
release created before it, so the releases' firstEvent, lastEvent and newGroups come from here."""
from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Set, Tuple

from .events import EventFactory
from .helpers import EPOCH, with_fraction
from .issues import IssueFactory, stats_24h
from .model import EVENT_WINDOW, Record
from .organization import Organization
from .project_facts import ProjectInfo
from .releases import ReleaseTimeline


@dataclass
class Activity:
    events: Dict[str, List[Record]] = field(default_factory=dict)         # project slug -> events, newest first
    issues: Dict[str, List[Record]] = field(default_factory=dict)         # project slug -> issues
    release_event_span: Dict[str, List[int]] = field(default_factory=dict)  # version -> [first, last] event epoch s
    release_new_groups: Dict[Tuple[str, int], int] = field(default_factory=dict)  # (version, project index) -> count


def build_events_and_issues(rng: random.Random, infos: List[ProjectInfo], timeline: ReleaseTimeline,
                            org: Organization, member_users: List[Record], team_refs: Dict[str, Record],
                            events_per_project: int, issues_per_project: int, now: datetime) -> Activity:
    """Every project's events (over the last EVENT_WINDOW) and issues; members are the issues' actors."""
    activity = Activity()
    issue_id = rng.randrange(5_100_000_000, 5_200_000_000)
    event_ids: Set[str] = set()
    for p in infos:
        prng = random.Random(rng.getrandbits(64))
        factory = EventFactory(p, org.dsn_host)
        n_issues = max(0, issues_per_project)
        rel_list = sorted(timeline.by_project[p.index])
        release_at = _ReleaseAt(rel_list)
        plan = _plan_events(prng, factory, events_per_project if n_issues else 0, n_issues, now)
        issue_factory = IssueFactory(org.record["slug"], p, [v for _, v in rel_list[-20:]], member_users, team_refs,
                                     [(c, timeline.attrs[v]["commit_release"]) for c, v in rel_list], now)
        issues, issue_id = _build_issues(prng, issue_factory, plan, issue_id, now)
        _count_new_groups(activity.release_new_groups, plan, release_at, p.index)
        activity.events[p.slug] = _build_events(prng, factory, plan, issues, release_at, event_ids,
                                                activity.release_event_span)
        activity.issues[p.slug] = issues
    return activity


class _ReleaseAt:
    """The version of the project's latest release created at or before an epoch second, or None."""

    def __init__(self, rel_list: List[Tuple[datetime, str]]):
        self.rel_list = rel_list
        self.rel_times = [r[0].timestamp() for r in rel_list]

    def __call__(self, t: int) -> Optional[str]:
        j = bisect_right(self.rel_times, t) - 1
        if j < 0:
            return None
        return self.rel_list[j][1]


@dataclass
class _EventPlan:
    """One project's events before they are built: when each happened, its issue, user and environment."""

    times: List[int]                               # epoch seconds (events have 1 s granularity)
    issue_of: List[int]                            # issue index of each event
    users: List[Optional[Record]]                  # the project's user pool (None: an event without user)
    user_of: List[int]                             # index in users of each event's user
    environment_of: List[str]
    issue_times: List[List[int]]                   # per issue: its events' times
    issue_users: List[Set[int]]                    # per issue: its events' users
    issue_first: List[Optional[Tuple[int, int]]]   # per issue: (time, event index) of its first event

    def issue_timelines(self) -> List[List[List]]:
        """Each issue's timeline for the server (``_events``): [epoch second, user key or None], ascending."""
        timelines: List[List[List]] = [[] for _ in self.issue_times]
        for k, g in enumerate(self.issue_of):
            timelines[g].append([self.times[k], _user_key(self.users[self.user_of[k]])])
        for events in timelines:
            events.sort(key=lambda event: event[0])
        return timelines


def _user_key(user: Optional[Record]) -> Optional[str]:
    """How Snuba's uniq(tags[sentry:user]) tells users apart (by id here)."""
    return f"id:{user['id']}" if user is not None else None


def _plan_events(prng: random.Random, factory: EventFactory, n_ev: int, n_issues: int, now: datetime) -> _EventPlan:
    p = factory.p
    now_ts = int(now.timestamp())
    window_s = int(EVENT_WINDOW.total_seconds())
    # event times (whole seconds) and issue assignment
    times = [now_ts - prng.randrange(1, window_s) for _ in range(n_ev)]   # epoch seconds
    weights = [1.0 / (k + 1) ** 0.9 for k in range(n_issues)]
    prng.shuffle(weights)
    assign = prng.choices(range(n_issues), weights=weights, k=n_ev) if n_issues else []
    if n_ev >= n_issues:   # every issue has at least one event (event times are random already)
        assign[:n_issues] = range(n_issues)
    users = factory.user_pool(prng)
    user_idx = [prng.randrange(len(users)) for _ in range(n_ev)]
    env_names = [e for e, hidden in p.environments if not hidden]
    env_weights = [80, 15, 5][: len(env_names)]
    env_pick = prng.choices(env_names, weights=env_weights, k=n_ev) if n_ev else []
    per_issue_times: List[List[int]] = [[] for _ in range(n_issues)]
    per_issue_users: List[Set[int]] = [set() for _ in range(n_issues)]
    per_issue_first: List[Optional[Tuple[int, int]]] = [None] * n_issues
    for k in range(n_ev):
        g = assign[k]
        per_issue_times[g].append(times[k])
        if users[user_idx[k]] is not None:
            per_issue_users[g].add(user_idx[k])
        if per_issue_first[g] is None or times[k] < per_issue_first[g][0]:
            per_issue_first[g] = (times[k], k)
    return _EventPlan(times, assign, users, user_idx, env_pick, per_issue_times, per_issue_users, per_issue_first)


def _build_issues(prng: random.Random, issue_factory: IssueFactory, plan: _EventPlan, issue_id: int,
                  now: datetime) -> Tuple[List[Record], int]:
    """The project's issues and the last issue id used (ids grow across projects)."""
    now_ts = int(now.timestamp())
    window_s = int(EVENT_WINDOW.total_seconds())
    issues: List[Record] = []
    timelines = plan.issue_timelines()
    for g in range(len(plan.issue_times)):
        issue_id += prng.randrange(1, 40_000)
        ts = plan.issue_times[g]
        if ts:
            first = EPOCH + timedelta(seconds=min(ts) - prng.choice([0, 0, 0, prng.randrange(1, 7200)]))
            first = max(first, now - EVENT_WINDOW)
            last = EPOCH + timedelta(seconds=max(ts))
            n_events, n_users = len(ts), len(plan.issue_users[g])
        else:
            last = now - timedelta(seconds=prng.randrange(3600, window_s))
            first = last - timedelta(seconds=prng.randrange(0, 86400 * 5))
            first = max(first, now - EVENT_WINDOW)
            n_events, n_users = prng.randrange(1, 4), prng.randrange(0, 2)
        # Real firstSeen/lastSeen keep the SDK's sub-second timestamp about half of the time,
        # while events list at one-second granularity: stay on the safe side of the events.
        last = with_fraction(prng, last, ceiling=now - timedelta(microseconds=1))
        if prng.random() < 0.5:
            first = (first - timedelta(seconds=1)).replace(microsecond=prng.randrange(1, 1_000_000))
        issue = issue_factory.build(prng, issue_id, g + 1, first, last, n_events, n_users,
                                    stats_24h(now_ts, ts))
        if ts:  # an issue without planned events gets its timeline from its fields (server side)
            issue["_events"] = timelines[g]
        issues.append(issue)
    return issues, issue_id


def _count_new_groups(release_new_groups: Dict[Tuple[str, int], int], plan: _EventPlan, release_at: _ReleaseAt,
                      project_index: int) -> None:
    """A release's newGroups: the issues whose first event happened in it."""
    for fe in plan.issue_first:
        if fe is not None:
            rel = release_at(fe[0])
            if rel:
                release_new_groups[(rel, project_index)] = release_new_groups.get((rel, project_index), 0) + 1


def _build_events(prng: random.Random, factory: EventFactory, plan: _EventPlan, issues: List[Record],
                  release_at: _ReleaseAt, event_ids: Set[str], release_event_span: Dict[str, List[int]]) -> List[Record]:
    """The project's events, newest first, with ids unique in the organization."""
    times, assign, users, user_idx, env_pick = plan.times, plan.issue_of, plan.users, plan.user_of, plan.environment_of
    events: List[Record] = []
    for k in range(len(times)):
        eid = "%032x" % prng.getrandbits(128)
        while eid in event_ids:
            eid = "%032x" % prng.getrandbits(128)
        event_ids.add(eid)
        rel = release_at(times[k])
        ev = factory.build(prng, eid, issues[assign[k]], times[k], users[user_idx[k]], env_pick[k], rel)
        events.append(ev)
        if rel:
            span_ = release_event_span.get(rel)
            if span_ is None:
                release_event_span[rel] = [times[k], times[k]]
            else:
                if times[k] < span_[0]:
                    span_[0] = times[k]
                if times[k] > span_[1]:
                    span_[1] = times[k]
    events.sort(key=lambda e: e["dateCreated"], reverse=True)
    return events

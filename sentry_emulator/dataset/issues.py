"""Issue records: StreamGroupSerializerSnuba (GET /organizations/{org}/issues/, default
groupStatsPeriod=24h)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional, Sequence, Tuple

from .catalogues import COMMIT_MESSAGES, ERRORS, MESSAGES, SDK_NORMALIZED, SUBSCRIPTION_REASONS
from .helpers import base32, format_datetime, random_hex
from .model import STATUS_IGNORED, STATUS_RESOLVED, STATUS_UNRESOLVED, Record
from .project_facts import ProjectInfo
from .releases import commit_record


def issue_metadata(platform: str, kind: str, spec: Tuple, sdk_name: str, priority_score: int) -> Record:
    sdk = {"name": sdk_name, "name_normalized": SDK_NORMALIZED.get(platform, sdk_name)}
    if kind == "default":
        return {"title": spec[0], "sdk": sdk, "initial_priority": priority_score}
    etype, value, filename, function, _module, _mech = spec
    return {
        "type": etype,
        "value": value,
        "filename": filename,
        "function": function,
        "display_title_with_tree_label": False,
        "in_app_frame_mix": "mixed" if "node_modules" in filename or "/" in filename else "in-app-only",
        "sdk": sdk,
        "initial_priority": priority_score,
    }


class IssueFactory:
    """Builds issue records (StreamGroupSerializerSnuba shape, default groupStatsPeriod=24h)."""

    def __init__(self, org_slug: str, project: ProjectInfo, release_versions: List[str],
                 actors: List[Record], teams_by_slug: Dict[str, Record],
                 commit_releases: Sequence[Tuple[datetime, Record]] = (), now: Optional[datetime] = None):
        self.now = now or datetime.now(timezone.utc)
        self.commit_releases = list(commit_releases)   # (created, CommitWithReleaseSerializer release item)
        self.org_slug = org_slug
        self.project = project
        self.release_versions = release_versions
        self.actors = actors                    # user serializer records (resolution / snooze actors)
        self.teams_by_slug = teams_by_slug

    def build(self, rng: random.Random, issue_id: int, short_num: int, first_seen: datetime,
              last_seen: datetime, n_events: int, user_count: int, stats_24h: List[List[int]],
              status: Optional[str] = None) -> Record:
        p = self.project
        platform = p.event_platform
        if rng.random() < 0.15:
            kind = "default"
            spec = rng.choice(MESSAGES)
            level = spec[1]
            title = spec[0]
            culprit = rng.choice(p.transactions)
        else:
            kind = "error"
            spec = rng.choice(ERRORS[platform])
            level = "fatal" if rng.random() < 0.05 else "error"
            first_line = spec[1].split("\n", 1)[0]
            title = f"{spec[0]}: {first_line}"
            if len(title) > 100:   # Sentry truncates titles for display
                title = title[:99] + "…"
            culprit = (rng.choice(p.transactions) if platform in ("javascript", "node", "go", "java", "ruby")
                       else f"{spec[4]} in {spec[3]}")
        priority = {"fatal": "high", "error": rng.choice(["high", "medium", "medium"]),
                    "warning": "medium", "info": "low"}[level]
        priority_score = {"high": 75, "medium": 50, "low": 25}[priority]
        metadata = issue_metadata(platform, kind, spec, p.sdk_name, priority_score)

        if status is None:
            r = rng.random()
            status = STATUS_UNRESOLVED if r < 0.50 else STATUS_RESOLVED if r < 0.85 else STATUS_IGNORED
        status_details: Record = {}
        if status == STATUS_UNRESOLVED:
            age = last_seen - first_seen
            substatus = ("new" if age < timedelta(days=3) and rng.random() < 0.6
                         else rng.choice(["ongoing", "ongoing", "ongoing", "regressed", "escalating"]))
        elif status == STATUS_IGNORED:
            substatus = rng.choice(["archived_until_escalating", "archived_until_condition_met",
                                    "archived_forever"])
            if substatus == "archived_until_condition_met":
                until = rng.random() < 0.5
                status_details = {
                    "ignoreCount": None if until else rng.choice([10, 100, 1000]),
                    "ignoreUntil": format_datetime(last_seen + timedelta(days=rng.choice([7, 30]))) if until else None,
                    "ignoreUserCount": None,
                    "ignoreUserWindow": None,
                    "ignoreWindow": None if until else rng.choice([60, 1440]),
                    "actor": rng.choice(self.actors),
                }
        else:
            substatus = None
            r = rng.random()
            if r < 0.15:
                status_details = {"autoResolved": True}
            elif r < 0.45 and self.release_versions:
                status_details = {"inRelease": rng.choice(self.release_versions), "actor": rng.choice(self.actors)}
            elif r < 0.65:
                status_details = {"inNextRelease": True, "actor": rng.choice(self.actors)}
            elif r < 0.75:
                dev = rng.choice(self.actors)
                committed = min(last_seen + timedelta(minutes=rng.randrange(5, 600)),
                                self.now - timedelta(seconds=rng.randrange(1, 600)))
                # the first release created after the fix contains the commit (none yet if too recent)
                later = [rel for created, rel in self.commit_releases if created > committed][:1]
                status_details = {"inCommit": commit_record(
                    random_hex(rng, 160),
                    f"{rng.choice(COMMIT_MESSAGES)}\n\nFixes {p.slug.upper()}-{base32(short_num)}",
                    committed, self.org_slug, "web" if p.event_platform == "javascript" else "backend",
                    "640211" if p.event_platform == "javascript" else "640212",
                    first_seen - timedelta(days=300), {"name": dev["name"], "email": dev["email"]}, later)}

        assigned: Optional[Record] = None
        ra = rng.random()
        if ra < 0.25:
            u = rng.choice(self.actors)
            assigned = {"email": u["email"], "type": "user", "id": u["id"], "name": u["name"]}
        elif ra < 0.35:
            team = self.teams_by_slug.get(p.team_slug)
            if team:
                assigned = {"type": "team", "id": team["id"], "name": team["slug"]}

        share_id = random_hex(rng) if rng.random() < 0.03 else None
        annotations: List[Record] = []
        if rng.random() < 0.08:
            key = f"ACME-{rng.randrange(100, 4000)}"
            annotations.append({"displayName": key, "url": f"https://acme.atlassian.net/browse/{key}"})
        subscribed = rng.random() < 0.3
        if subscribed:
            sub_details: Optional[Record] = {"reason": rng.choice(SUBSCRIPTION_REASONS)}
        elif rng.random() < 0.05:
            sub_details = {"disabled": True}
        else:
            sub_details = None
        count = str(n_events)
        fs, ls = format_datetime(first_seen), format_datetime(last_seen)
        return {
            "id": str(issue_id),
            "shareId": share_id,
            "shortId": f"{p.slug.upper()}-{base32(short_num)}",
            "title": title,
            "culprit": culprit,
            "permalink": f"https://{self.org_slug}.sentry.io/issues/{issue_id}/",
            "logger": None if kind == "error" or rng.random() < 0.5 else "root",
            "level": level,
            "status": status,
            "statusDetails": status_details,
            "substatus": substatus,
            "isPublic": share_id is not None,
            "platform": platform,
            "project": p.group_ref,
            "type": kind,
            "metadata": metadata,
            "numComments": rng.choice([0, 0, 0, 0, 1, 2, 3]),
            "assignedTo": assigned,
            "isBookmarked": rng.random() < 0.05,
            "isSubscribed": subscribed,
            "subscriptionDetails": sub_details,
            "hasSeen": rng.random() < 0.6,
            "annotations": annotations,
            "issueType": "error",
            "issueCategory": "error",
            "priority": priority,
            "priorityLockedAt": (format_datetime(min(first_seen + timedelta(hours=rng.randrange(1, 48),
                                                                            microseconds=rng.randrange(1, 10**6)),
                                                     self.now - timedelta(seconds=1)))
                                 if rng.random() < 0.07 else None),
            **seer_fields(issue_id, first_seen, last_seen),
            "isUnhandled": spec[-1] in ("onerror", "onunhandledrejection", "panic", "UncaughtExceptionHandler")
            if kind == "error" else False,
            "count": count,
            "userCount": user_count,
            "firstSeen": fs,
            "lastSeen": ls,
            "stats": {"24h": stats_24h},
            "lifetime": {"count": count, "userCount": user_count, "firstSeen": fs, "lastSeen": ls, "stats": None},
            "filtered": None,
        }


def seer_fields(issue_id: int, first_seen: datetime, last_seen: datetime) -> Record:
    """Seer's fields of the base group serializer (in Sentry's published schema and example; null
    until Seer looked at the issue). Derived from the issue, not drawn, so that adding them left every
    other value of the dataset unchanged."""
    scored = issue_id % 4 == 0
    span = last_seen - first_seen
    autofix = scored and issue_id % 3 == 0
    explorer = scored and issue_id % 7 == 0
    return {
        "seerFixabilityScore": round((issue_id % 1000) / 1000, 3) if scored else None,
        "seerAutofixLastTriggered": format_datetime(first_seen + span / 2) if autofix else None,
        "seerExplorerAutofixLastTriggered": format_datetime(last_seen - span / 4) if explorer else None,
    }


def stats_24h(now_ts: int, event_times: Sequence[int]) -> List[List[int]]:
    """The issue's "stats" for groupStatsPeriod=24h: 24 hourly [bucket start, count] pairs."""
    start_ts = now_ts - now_ts % 3600 - 23 * 3600
    buckets = [0] * 24
    for t in event_times:
        idx = (t - start_ts) // 3600
        if 0 <= idx < 24:
            buckets[idx] += 1
    return [[start_ts + 3600 * i, buckets[i]] for i in range(24)]

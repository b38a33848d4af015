"""Plain facts about each project, shared by every resource that embeds or refers to a project."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import List, Tuple

from .catalogues import COLORS, ENVIRONMENTS, EXTRA_PROFILES, PROJECT_PROFILES, TEAM_ACCESS, TRANSACTIONS, WORKER_TASKS
from .helpers import format_datetime, parse_datetime
from .model import LONG_WINDOW, MEMBER_TEAMS, Dataset, Record


class ProjectInfo:
    """Plain facts about one project, shared by every stream that embeds a project."""

    def __init__(self, index: int, pid: int, created: datetime, rng: random.Random):
        (self.slug, self.name, self.platform, self.event_platform, self.platforms, self.team_slug,
         self.sdk_name, self.sdk_version) = project_profile(index)
        self.index = index
        self.int_id = pid
        self.id = str(pid)
        self.created = created
        self.date_created = format_datetime(created)
        self.first_event = format_datetime(created + timedelta(minutes=rng.randrange(3, 600),
                                                              microseconds=rng.randrange(1, 999999)))
        self.is_bookmarked = index == 0
        self.is_member = self.team_slug in MEMBER_TEAMS
        self.color = COLORS[index % len(COLORS)]
        web = self.event_platform == "javascript"
        self.flags = {
            "firstTransactionEvent": True,
            "hasMinifiedStackTrace": web,
            "hasMonitors": self.slug == "worker",
            "hasProfiles": self.slug == "api",
            "hasReplays": web,
            "hasFeedbacks": web,
            "hasFlags": False,
            "hasNewFeedbacks": web,
            "hasSessions": web,
            "hasInsightsHttp": True,
            "hasInsightsDb": not web,
            "hasInsightsAssets": web,
            "hasInsightsVitals": web,
            "hasInsightsCaches": self.slug == "api",
            "hasInsightsQueues": self.slug == "worker",
            # Sentry's newer insight and product flags (hasInsightsAgentMonitoring took the place of
            # hasInsightsLlmMonitoring): set from the project, not drawn, so the rest of the data is as before
            "hasInsightsAgentMonitoring": self.slug == "api",
            "hasInsightsMCP": False,
            "hasLogs": self.slug in ("web", "api"),
            "hasTraceMetrics": self.slug == "api",
        }
        self.has_user_reports = web
        self.environments: List[Tuple[str, bool]] = ENVIRONMENTS[: 4 if index % 2 == 0 else 2]
        self.transactions = (WORKER_TASKS if self.slug == "worker"
                             else TRANSACTIONS.get(self.event_platform, ["/"]))
        self.group_ref: Record = {"id": self.id, "name": self.name, "slug": self.slug, "platform": self.platform}


def build_project_facts(rng: random.Random, count: int, now: datetime) -> List[ProjectInfo]:
    """The facts of ``count`` projects created about two years before ``now``."""
    infos: List[ProjectInfo] = []
    used_pids = set()
    for i in range(count):
        pid = rng.randrange(4_504_100_000_000_000, 4_509_900_000_000_000)
        while pid in used_pids:
            pid += 1
        used_pids.add(pid)
        created = now - LONG_WINDOW + timedelta(days=rng.randrange(0, 25), seconds=rng.randrange(86400),
                                                microseconds=rng.randrange(1, 999999))
        infos.append(ProjectInfo(i, pid, created, rng))
    return infos


def project_facts_of(ds: Dataset, project_slug: str) -> ProjectInfo:
    """The facts of a project already in a dataset (for records created after the build)."""
    for i, rec in enumerate(ds.projects):
        if rec["slug"] == project_slug:
            info = ProjectInfo.__new__(ProjectInfo)
            (info.slug, info.name, info.platform, info.event_platform, info.platforms, info.team_slug,
             info.sdk_name, info.sdk_version) = project_profile(i)
            info.slug, info.name, info.platform = rec["slug"], rec["name"], rec["platform"]
            info.platforms = list(rec["platforms"])
            info.index = i
            info.int_id = int(rec["id"])
            info.id = rec["id"]
            info.created = parse_datetime(rec["dateCreated"])
            info.date_created = rec["dateCreated"]
            info.first_event = rec["firstEvent"]
            info.is_bookmarked = rec["isBookmarked"]
            info.is_member = rec["isMember"]
            info.color = COLORS[i % len(COLORS)]
            info.flags = {}
            info.has_user_reports = rec["hasUserReports"]
            info.environments = [(e["name"], e["isHidden"]) for e in ds.environments.get(project_slug, [])]
            info.transactions = (WORKER_TASKS if info.slug == "worker"
                                 else TRANSACTIONS.get(info.event_platform, ["/"]))
            info.group_ref = {"id": info.id, "name": info.name, "slug": info.slug, "platform": info.platform}
            return info
    raise KeyError(f"unknown project {project_slug!r}")


def project_profile(index: int) -> Tuple[str, str, str, str, List[str], str, str, str]:
    if index < len(PROJECT_PROFILES):
        return PROJECT_PROFILES[index]
    platform, ev_platform, platforms, team, sdk, sdk_version = EXTRA_PROFILES[(index - 3) % len(EXTRA_PROFILES)]
    slug = f"svc-{index + 1}"
    return slug, f"Service {index + 1}", platform, ev_platform, platforms, team, sdk, sdk_version


def newer_project_flags(p: "ProjectInfo") -> Record:
    """The flags ProjectSerializer and ProjectSummarySerializer send after hasInsightsQueues in current
    Sentry (its published listOrganizationProjects and getProject schemas); current Sentry no longer
    sends hasInsightsLlmMonitoring (renamed hasInsightsAgentMonitoring)."""
    return {name: p.flags[name] for name in ("hasInsightsAgentMonitoring", "hasInsightsMCP", "hasLogs",
                                             "hasTraceMetrics")}


def base_project(p: "ProjectInfo", features: List[str]) -> Record:
    """ProjectSerializer (base) output, also the shape of a team's "projects" items."""
    return {
        "id": p.id,
        "slug": p.slug,
        "name": p.name,
        "platform": p.platform,
        "dateCreated": p.date_created,
        "isBookmarked": p.is_bookmarked,
        "isMember": p.is_member,
        "features": features,
        "firstEvent": p.first_event,
        "firstTransactionEvent": p.flags["firstTransactionEvent"],
        "access": list(TEAM_ACCESS),
        "hasAccess": True,
        "hasMinifiedStackTrace": p.flags["hasMinifiedStackTrace"],
        "hasMonitors": p.flags["hasMonitors"],
        "hasProfiles": p.flags["hasProfiles"],
        "hasReplays": p.flags["hasReplays"],
        "hasFeedbacks": p.flags["hasFeedbacks"],
        "hasFlags": p.flags["hasFlags"],
        "hasNewFeedbacks": p.flags["hasNewFeedbacks"],
        "hasSessions": p.flags["hasSessions"],
        "hasInsightsHttp": p.flags["hasInsightsHttp"],
        "hasInsightsDb": p.flags["hasInsightsDb"],
        "hasInsightsAssets": p.flags["hasInsightsAssets"],
        "hasInsightsAppStart": False,
        "hasInsightsScreenLoad": False,
        "hasInsightsVitals": p.flags["hasInsightsVitals"],
        "hasInsightsCaches": p.flags["hasInsightsCaches"],
        "hasInsightsQueues": p.flags["hasInsightsQueues"],
        **newer_project_flags(p),
        "isInternal": False,
        "isPublic": False,
        # projects have no avatar uploads: Sentry sends avatarType and avatarUuid only
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": None},
        "color": p.color,
        "status": "active",
    }

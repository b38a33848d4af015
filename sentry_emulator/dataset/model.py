"""The dataset container: every record of the emulated organization, by resource.

Records are shaped exactly like the real API's JSON responses. Keys starting with "_" are private
to the emulator (used for server-side filtering) and are stripped before a record is served, except
the ones Sentry itself sends under such a name (SENTRY_UNDERSCORE_KEYS).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Dict, List, Tuple

Record = Dict[str, Any]

# Keys starting with "_" that Sentry itself sends: a full event's `_meta` (the data-scrubbing and
# trimming annotations, EventSerializer.serialize in src/sentry/api/serializers/models/event.py).
SENTRY_UNDERSCORE_KEYS = frozenset({"_meta"})


def is_private_key(key: Any) -> bool:
    """Whether a record key is the emulator's own (never served)."""
    return isinstance(key, str) and key.startswith("_") and key not in SENTRY_UNDERSCORE_KEYS


@dataclass
class Dataset:
    organization: Record                      # organization detail: id, slug, name, ...
    projects: List[Record]                    # GET /organizations/{org}/projects/ items (summary shape)
    project_details: Dict[str, Record]        # project slug -> GET /projects/{org}/{slug}/ body
    events: Dict[str, List[Record]]           # project slug -> full events (full=true shape)
    issues: Dict[str, List[Record]]           # project slug -> issues (group serializer shape);
                                              # "_events": [[epoch second, user key], ...] (issue_stats.py)
    releases: List[Record]                    # org releases; "_status": "open" | "archived"
    teams: List[Record] = field(default_factory=list)
    members: List[Record] = field(default_factory=list)
    project_keys: Dict[str, List[Record]] = field(default_factory=dict)   # project slug -> keys
    environments: Dict[str, List[Record]] = field(default_factory=dict)   # project slug -> environments
    deploys: Dict[str, List[Record]] = field(default_factory=dict)        # release version -> deploys, in
                                              # creation order; "_projects": slugs it targets (default: the release's)
    usage: List[Record] = field(default_factory=list)  # raw outcome rows, see build_dataset


# Keys of GET /projects/{org}/{project}/events/ items WITHOUT full=true (SimpleEventSerializer).
# "event.type" is the only one a full event does not carry: it is the full event's "type".
EVENT_SUMMARY_FIELDS: Tuple[str, ...] = (
    "id",
    "event.type",
    "groupID",
    "eventID",
    "projectID",
    "message",
    "title",
    "location",
    "culprit",
    "user",
    "tags",
    "platform",
    "dateCreated",
    "crashFile",
    "metadata",
)

EVENT_WINDOW = timedelta(days=80)      # events and issues are spread over this
LONG_WINDOW = timedelta(days=730)      # projects and releases
USAGE_DAYS = 30

STATUS_UNRESOLVED, STATUS_RESOLVED, STATUS_IGNORED = "unresolved", "resolved", "ignored"

# The teams the token's user belongs to (records' isMember). The organization keeps Sentry's
# default Open Membership, so the user reads every project, but the projects of the other teams
# (api and worker, team "backend") are not "theirs": organization endpoints list them only for
# project=-1 (sentry_emulator/server/access.py).
MEMBER_TEAMS = ("frontend",)


def event_summary(event: Record) -> Record:
    """The record the events endpoint serves without full=true, derived from a full event."""
    out: Record = {}
    for key in EVENT_SUMMARY_FIELDS:
        out[key] = event.get("type") if key == "event.type" else event.get(key)
    return out

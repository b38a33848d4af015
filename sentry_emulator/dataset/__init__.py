"""The emulator's ground truth: every record the emulated Sentry organization holds.

Records are shaped exactly like the real API's JSON responses. Keys starting with "_" are private
to the emulator (used for server-side filtering) and are stripped before a record is served, except
`_meta`, which Sentry itself sends with full events (model.SENTRY_UNDERSCORE_KEYS).

Shapes follow Sentry's own serializers (getsentry/sentry, src/sentry/api/serializers/models/):
  projects         ProjectSummarySerializer       (GET /organizations/{org}/projects/)
  project_details  DetailedProjectSerializer      (GET /projects/{org}/{project}/)
  events           EventSerializer                (GET /projects/{org}/{project}/events/?full=true)
                   SimpleEventSerializer          (same endpoint without full=true: event_summary())
  issues           StreamGroupSerializerSnuba     (GET /organizations/{org}/issues/, groupStatsPeriod 24h)
  releases         ReleaseSerializer              (GET /organizations/{org}/releases/)
  teams            TeamSerializer, detailed=1     (GET /organizations/{org}/teams/: projects + externalTeams)
  members          OrganizationMemberSerializer   (GET /organizations/{org}/members/)
  project_keys     ProjectKeySerializer           (GET /projects/{org}/{project}/keys/)
  environments     EnvironmentProjectSerializer   (GET /projects/{org}/{project}/environments/)
  deploys          DeploySerializer               (GET /organizations/{org}/releases/{version}/deploys/)
  usage            raw outcome rows the server aggregates into the stats_v2 response

Where things live:
  model.py              the Dataset container, its time windows, event_summary()
  build.py              build_dataset(): calls the builders below in a fixed order
  organization.py       the organization, teams, members (and their users)
  project_facts.py      ProjectInfo: what every resource knows of a project
  projects.py           project list, project detail, client keys, environments
  releases.py           release timeline, deploys, release records, commits
  events_and_issues.py  events and issues of each project, built together
  events.py, issues.py  the event and issue record factories
  usage.py              the stats_v2 outcome rows
  additions.py          new_event(), new_issue(), new_release(): records created after the build
  helpers.py            datetimes as Sentry renders them, base32 short ids, random ids, seeded RNGs
  catalogues.py         static realistic values (platforms, errors, names, features)
"""
from .additions import new_event, new_issue, new_release
from .build import build_dataset
from .helpers import format_datetime, parse_datetime
from .model import (
    EVENT_SUMMARY_FIELDS,
    EVENT_WINDOW,
    LONG_WINDOW,
    STATUS_IGNORED,
    STATUS_RESOLVED,
    STATUS_UNRESOLVED,
    USAGE_DAYS,
    Dataset,
    Record,
    event_summary,
    is_private_key,
)

__all__ = [
    "Dataset",
    "Record",
    "EVENT_SUMMARY_FIELDS",
    "EVENT_WINDOW",
    "LONG_WINDOW",
    "USAGE_DAYS",
    "STATUS_UNRESOLVED",
    "STATUS_RESOLVED",
    "STATUS_IGNORED",
    "build_dataset",
    "new_event",
    "new_issue",
    "new_release",
    "event_summary",
    "is_private_key",
    "format_datetime",
    "parse_datetime",
]

"""What Sentry's code says about fields where its published response schema (unit_tests/sentry_openapi/)
is not the whole truth, with the source each fact was read in.

Paths are "field", "object.field" and "array[].field"; a path covers the fields nested in it. Files are in getsentry/sentry; the index
used to read them shows no line numbers, so each citation names the function and, where the
version is not the file's newest, the stored version read (commit or index id).
"""
from __future__ import annotations

from typing import Dict

GROUP_STREAM = "src/sentry/api/serializers/models/group_stream.py (StreamGroupSerializerSnuba.get_attrs/serialize, commit 024b89e)"
PROJECT_SERIALIZERS = "src/sentry/api/serializers/models/project.py (index id 1216993452)"
USER_SERIALIZER = "src/sentry/users/api/serializers/user.py (UserSerializer, DetailedUserSerializer, commit 016205f)"
RELEASE_SERIALIZER = "src/sentry/api/serializers/models/release.py (ReleaseSerializer, index id 4207351607)"

# Fields the published schema lists that Sentry sends only on a request the connector does not
# make (an `expand`, a statsPeriod...) or only for data the connector cannot ask for. The streams
# declare them (Sentry documents them), but neither the connector's requests nor the emulator's
# default answers carry them. operationId -> path -> why.
CONDITIONAL: Dict[str, Dict[str, str]] = {
    "listOrganizationIssues": {
        **{field: f"only with expand={expand}: {GROUP_STREAM}" for field, expand in (
            ("inbox", "inbox"), ("owners", "owners"), ("integrationIssues", "integrationIssues"),
            ("sentryAppIssues", "sentryAppIssues"), ("latestEventHasAttachments", "latestEventHasAttachments"),
            ("sessionCount", "sessions"))},
        "matchingEventId": "only on a direct hit of a query that is an event id (X-Sentry-Direct-Hit): the "
                           "issue endpoints' event-id lookup (project_group_index.py; tests "
                           "test_organization_group_index.py test_lookup_by_event_id)",
        "matchingEventEnvironment": "as matchingEventId",
        "derivedData": "in no serializer version read (group_stream.py, group.py): when Sentry sends it is not "
                       "known; the published schema and its example are the only source",
        **{f"filtered.{field}": f"filtered is null unless the query has conditions Snuba filters on: {GROUP_STREAM}; "
                               "the connector's lastSeen terms are not such conditions"
           for field in ("count", "userCount", "firstSeen", "lastSeen", "stats")},
        "statusDetails.pendingEvents": "only for an issue in status reprocessing (GroupSerializerBase._get_status, "
                                       "src/sentry/api/serializers/models/group.py)",
        "statusDetails.info": "only for an issue in status reprocessing, as statusDetails.pendingEvents",
        "statusDetails.actor.authenticators": f"only from DetailedUserSerializer: {USER_SERIALIZER}",
        "statusDetails.actor.canReset2fa": f"only from DetailedUserSerializer: {USER_SERIALIZER}",
        "statusDetails.actor.identities": f"only for the requesting user's own user: {USER_SERIALIZER} "
                                          "_get_identities",
    },
    "listOrganizationProjects": {
        **{field: f"only when the request asks for it (statsPeriod, transactionStats, sessionStats, options): "
                  f"ProjectSummarySerializer.serialize in {PROJECT_SERIALIZERS}"
           for field in ("stats", "transactionStats", "sessionStats", "options")},
    },
    "getProject": {
        **{field: f"never on the project detail: DetailedProjectSerializer computes no stats ({PROJECT_SERIALIZERS})"
           for field in ("stats", "transactionStats", "sessionStats")},
        "tempestFetchScreenshots": "only for organizations with Tempest (PlayStation) access: "
                                   f"DetailedProjectSerializer.serialize, has_tempest_access ({PROJECT_SERIALIZERS})",
        "avatar.avatarUrl": "projects have no avatar uploads: ProjectSerializer.serialize sends avatarType and "
                            "avatarUuid only (a copy of the newest ProjectSerializer.serialize, index id 52909800435)",
        **{f"organization.{field}": "the project's organization is the plain OrganizationSerializer output "
                                    "(src/sentry/api/serializers/models/organization.py, index id 1212751572), "
                                    "which has no access or onboarding tasks"
           for field in ("access", "onboardingTasks")},
    },
    "listOrganizationTeams": {
        "organization": "never on the team list: OrganizationTeamsEndpoint.get expands only projects and "
                        "externalTeams (src/sentry/core/endpoints/organization_teams.py)",
        **{f"projects[].{field}": "the team's projects are serialized without stats "
                                  "(src/sentry/api/serializers/models/team.py TeamSerializer.get_attrs)"
           for field in ("stats", "transactionStats", "sessionStats")},
        "projects[].avatar.avatarUrl": "as getProject avatar.avatarUrl",
        "externalTeams[].userId": "set on user mappings only; a team's mappings carry teamId (ExternalActorResponse "
                                  "lists userId and teamId as optional)",
    },
    "listOrganizationMembers": {
        "externalUsers": "only with expand=externalUsers: OrganizationMemberSerializer.serialize "
                         "(src/sentry/api/serializers/models/organization_member/base.py)",
        "user.authenticators": f"only from DetailedUserSerializer: {USER_SERIALIZER}",
        "user.canReset2fa": f"only from DetailedUserSerializer: {USER_SERIALIZER}",
    },
    "listOrganizationReleases": {
        "adoptionStages": f"only with adoptionStages=1 (with_adoption_stages): {RELEASE_SERIALIZER}",
        "projects[].healthData": f"only with health=1 (with_health_data): {RELEASE_SERIALIZER}",
        **{field: f"not sent by the newest serializer read ({RELEASE_SERIALIZER}); newer than it, and when it is "
                  "sent is not known (optional in the published schema, absent from Sentry's example)"
           for field in ("dateStarted", "projects[].dateReleased", "projects[].dateCreated", "projects[].dateStarted")},
    },
    "listOrganizationStatsV2": {
        **{path: "absent when grouping by project: only the totals query runs, and the result without a "
                 "timeseries has no intervals and no series (src/sentry/api/endpoints/organization_stats_v2.py get, "
                 "index id 189782896; src/sentry/snuba/outcomes.py massage_outcomes_result, commit 006e33e)"
           for path in ("intervals", "groups[].series")},
    },
    "getProjectEvent": {
        "occurrence": "only for issue-platform events; the error events this endpoint lists have none (null) "
                      "(EventSerializer, src/sentry/api/serializers/models/event.py)",
    },
}

# The events stream reads full=true: EventSerializer, documented as getProjectEvent, whose
# DetailedEventSerializer and endpoint add these (never in the event list), and whose transaction
# fields never occur for the error events listed (event.py EventSerializer.serialize).
DETAIL_ONLY_EVENT_FIELDS = {
    "release", "userReport", "sdkUpdates", "resolvedWith", "nextEventID", "previousEventID",
    "startTimestamp", "endTimestamp", "measurements", "breakdowns",
}

# Fields Sentry sends that its published schema leaves out: operationId -> path -> (JSON schema, source).
UNDOCUMENTED: Dict[str, Dict[str, tuple]] = {
    "listOrganizationIssues": {
        "statusDetails.autoResolved": ({"type": "boolean"}, "GroupSerializerBase._get_status sets it for an "
                                       "unresolved issue over the project's resolve age (group.py, index id 1287417730)"),
    },
    "listOrganizationProjects": {
        "eventProcessing": ({"type": "object"}, f"ProjectSummarySerializer.serialize ({PROJECT_SERIALIZERS})"),
    },
    "getProject": {
        "eventProcessing": ({"type": "object"}, f"DetailedProjectSerializer.serialize ({PROJECT_SERIALIZERS})"),
        "plugins": ({"type": "array"}, f"DetailedProjectSerializer.serialize ({PROJECT_SERIALIZERS})"),
        "groupingEnhancementsBase": ({"type": ["string", "null"]},
                                     f"DetailedProjectSerializer.serialize ({PROJECT_SERIALIZERS})"),
        "organization.requireEmailVerification": ({"type": "boolean"}, "OrganizationSerializer.serialize "
                                                  "(src/sentry/api/serializers/models/organization.py, index id 1212751572)"),
    },
    "listOrganizationMembers": {
        "role": ({"type": "string"}, "OrganizationMemberSerializer.serialize, 'Deprecated, use orgRole' "
                 "(organization_member/base.py, commit 02575bd)"),
        "roleName": ({"type": "string"}, "as role"),
    },
}

# Where Sentry's values do not have the published type: operationId -> path -> (JSON schema, source).
TYPE_CORRECTIONS: Dict[str, Dict[str, tuple]] = {
    "listOrganizationReleases": {
        # published as a string; Deploy.name is nullable and DeploySerializer sends it as is (the
        # published deploys list itself marks it nullable)
        "lastDeploy.name": ({"type": ["string", "null"]}, "DeploySerializer.serialize: 'name': obj.name "
                            "(src/sentry/api/serializers/models/deploy.py, index id 55706799449)"),
    },
    "listOrganizationIssues": {
        # published as non-null; the snooze's columns are copied as they are, unset ones as null
        **{f"statusDetails.{field}": ({"type": [kind, "null"], **({"format": "date-time"} if kind == "string" else {})},
                                      "GroupSerializerBase._get_status: the snooze's count, until, user_count, "
                                      "user_window and window, each None when not set (group.py, index id 1287417730)")
           for field, kind in (("ignoreCount", "integer"), ("ignoreUntil", "string"), ("ignoreUserCount", "integer"),
                               ("ignoreUserWindow", "integer"), ("ignoreWindow", "integer"))},
        # published as a string; _get_status puts the serialized Commit there
        "statusDetails.inCommit": ({"type": ["object", "string", "null"]},
                                   "GroupSerializerBase._get_status: status_details['inCommit'] = attrs['resolution'] "
                                   "(the serialized commit) (group.py, index id 1287417730)"),
    },
}

# Fields the streams still declare for older Sentry versions that current Sentry no longer sends:
# stream -> path -> why. The emulator (current Sentry) does not send them.
NOT_SENT_BY_CURRENT_SENTRY: Dict[str, Dict[str, str]] = {
    stream: {f"{prefix}hasInsightsLlmMonitoring": "replaced by hasInsightsAgentMonitoring: absent from the "
             "published schema and from the newest ProjectSerializer.serialize (copy, index id 52909800435); "
             f"sent by older versions ({PROJECT_SERIALIZERS})"}
    for stream, prefix in (("projects", ""), ("project_detail", ""), ("teams", "projects[]."))
}


def covered(paths, path: str) -> bool:
    """Whether `path` is one of `paths` or nested in one of them."""
    return any(path == p or path.startswith(p + ".") or path.startswith(p + "[]") for p in paths)

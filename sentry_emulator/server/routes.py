"""The route table: the endpoint that answers each path below /api/0/ and the token scopes it accepts.

A route is a path pattern (its named groups become the handler's keyword arguments, percent-decoded;
``org`` and ``project`` are resolved to their records first), the handler, and the scopes of
scope_map["GET"] in the endpoint's permission class. The first matching pattern wins.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple
from urllib.parse import unquote

from .auth import EVENT_READ, MEMBER_READ, ORG_READ, PROJECT_READ, RELEASE_READ
from .endpoints import events, explore, issues, organization, projects, releases, stats
from .plumbing import Response

API_ROOT = "/api/0/"
ORG = r"^organizations/(?P<org>[^/]+)/"
PROJECT = r"^projects/(?P<org>[^/]+)/(?P<project>[^/]+)/"


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern
    handler: Callable[..., Response]  # handler(emulator, request, org=..., project=..., **other groups)
    scopes: Tuple[str, ...]           # the token needs one of these


def route(pattern: str, handler: Callable[..., Response], scopes: Tuple[str, ...]) -> Route:
    return Route(re.compile(pattern), handler, scopes)


ROUTES: List[Route] = [
    route(ORG + r"$", organization.org_detail, ORG_READ),
    route(ORG + r"projects/$", projects.org_projects, ORG_READ),  # OrganizationProjectsPermission
    route(ORG + r"issues/$", issues.org_issues, EVENT_READ),  # OrganizationEventPermission
    route(ORG + r"releases/$", releases.org_releases, RELEASE_READ),  # OrganizationReleasePermission
    route(ORG + r"releases/(?P<version>[^/]+)/deploys/$", releases.release_deploys, RELEASE_READ),
    route(ORG + r"teams/$", organization.org_teams, ORG_READ),  # OrganizationTeamsPermission
    route(ORG + r"members/$", organization.org_members, MEMBER_READ),  # MemberPermission
    route(ORG + r"stats_v2/$", stats.org_stats_v2, ORG_READ),
    # Explore table; scopes as the published OpenAPI's security for listOrganizationEvents
    route(ORG + r"events/$", explore.org_events, ORG_READ),
    route(PROJECT + r"$", projects.project_detail, PROJECT_READ),  # ProjectPermission
    route(PROJECT + r"events/$", events.project_events, EVENT_READ),  # ProjectEventPermission
    route(PROJECT + r"issues/$", issues.project_issues, EVENT_READ),
    route(PROJECT + r"keys/$", projects.project_keys, PROJECT_READ),
    route(PROJECT + r"environments/$", projects.project_environments, PROJECT_READ),
]

# Every scope some endpoint accepts: the API index lists them for a token given no explicit scopes.
ALL_SCOPES = {scope for r in ROUTES for scope in r.scopes}


def match_route(api_path: str) -> Optional[Tuple[Route, Dict[str, str]]]:
    """The first route matching a raw path below /api/0/, and its path parameters."""
    for candidate in ROUTES:
        m = candidate.pattern.match(api_path)
        if m:
            return candidate, {k: unquote(v) for k, v in m.groupdict().items()}
    return None

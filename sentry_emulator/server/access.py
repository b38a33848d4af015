"""Which projects the token can read, and which ones an organization endpoint's ``project``
parameter selects, as Sentry decides it.

Sources (getsentry/sentry):
- src/sentry/auth/access.py: ``has_project_membership`` = the project belongs to a team the member
  is in; ``has_project_access`` = membership, or ``has_global_access`` = the organization's Open
  Membership flag (``allow_joinleave``) or a global org role.
- src/sentry/conf/server.py SENTRY_ROLES: ``manager`` and ``owner`` are ``is_global``.
- src/sentry/models/organization.py Organization.flags: ``allow_joinleave`` is the first flag and
  ``bitfield_default = 1``: Open Membership is on for a new organization.
- src/sentry/api/bases/organization.py OrganizationEndpoint.get_projects: ``project`` absent ->
  the projects of the user's teams; ``project=-1`` -> every project the user can access; explicit
  ids -> each must be accessible, else 403; non-numbers -> 400.
- Organization tokens (``sntrys_``, OrgAuthToken) carry only ``org:ci``; their access
  (ApiBackedOrganizationGlobalAccess) reaches every project but is a member of none, and the
  releases endpoints force global permissions for them (OrganizationReleasesBaseEndpoint).
- src/sentry/api/serializers/models/project.py get_access_by_project: the project list's
  ``isMember``, ``hasAccess`` and ``access`` (the team scopes; none without access).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Set

from ..dataset import Dataset, Record
from .errors import DETAIL_FORBIDDEN, ApiError
from .plumbing import Request

GLOBAL_ROLES = frozenset({"manager", "owner"})  # src/sentry/conf/server.py SENTRY_ROLES is_global
ALL_ACCESS_PROJECT_ID = -1  # src/sentry/constants.py ALL_ACCESS_PROJECTS


@dataclass(frozen=True)
class TokenUser:
    """Whose token it is. The default is Sentry's default: a user token of a ``member`` in an
    organization with Open Membership, in the teams the dataset marks ``isMember``."""

    teams: Optional[frozenset] = None   # team slugs the user belongs to; None: the dataset's isMember teams
    role: str = "member"                # organization role
    open_membership: bool = True        # the organization's allow_joinleave flag
    kind: str = "user"                  # "user" (user auth token) or "organization" (org auth token)


class Access:
    """The token's access to the projects of one dataset."""

    def __init__(self, user: TokenUser, dataset: Dataset) -> None:
        self.user = user
        self.dataset = dataset
        if user.teams is not None:
            self.member_teams: Set[str] = set(user.teams)
        else:
            self.member_teams = {str(t.get("slug")) for t in dataset.teams if t.get("isMember", True)}

    @property
    def is_org_token(self) -> bool:
        return self.user.kind == "organization"

    @property
    def global_access(self) -> bool:
        if self.is_org_token:
            return True
        return self.user.open_membership or self.user.role in GLOBAL_ROLES

    def is_team_member(self, team_slug: str) -> bool:
        return not self.is_org_token and team_slug in self.member_teams

    def is_member(self, project: Record) -> bool:
        """In a team of the project. A hand-made project without teams counts as the user's own."""
        if self.is_org_token:
            return False
        teams = project_team_slugs(project)
        return not teams or bool(teams & self.member_teams)

    def has_access(self, project: Record) -> bool:
        return self.global_access or self.is_member(project)

    def projects(self, *, include_all_accessible: bool) -> List[Record]:
        """get_projects without a ``project`` parameter."""
        if include_all_accessible:
            return [p for p in self.dataset.projects if self.has_access(p)]
        return [p for p in self.dataset.projects if self.is_member(p)]

    def selected_projects(self, request: Request, *, include_all_accessible: bool = False,
                          force_global: bool = False) -> List[Record]:
        """OrganizationEndpoint.get_projects for the request's ``project`` parameters."""
        ids = requested_project_ids(request)
        if not ids:
            if force_global:
                return list(self.dataset.projects)
            return self.projects(include_all_accessible=include_all_accessible)
        if ALL_ACCESS_PROJECT_ID in ids:
            return self.projects(include_all_accessible=True)
        by_id = {str(p.get("id")): p for p in self.dataset.projects}
        chosen = [by_id.get(str(i)) for i in sorted(ids)]
        if any(p is None or not (force_global or self.has_access(p)) for p in chosen):
            raise ApiError(403, DETAIL_FORBIDDEN)  # _validate_fetched_projects
        return [p for p in chosen if p is not None]

    def served_project(self, project: Record) -> Record:
        """A project record with the token's isMember, hasAccess and access."""
        has_access = self.has_access(project)
        out = dict(project)
        if "isMember" in out or "hasAccess" in out:
            out["isMember"] = self.is_member(project)
            out["hasAccess"] = has_access
            if not has_access and "access" in out:
                out["access"] = []
        return out

    def served_team(self, team: Record) -> Record:
        """A team record with the token's isMember and hasAccess (TeamSerializer get_attrs)."""
        out = dict(team)
        if "isMember" in out:
            member = self.is_team_member(str(team.get("slug")))
            out["isMember"] = member
            out["hasAccess"] = member or self.global_access
            if "projects" in out:  # the team's projects, as the project list shows them
                by_id = {str(p.get("id")): p for p in self.dataset.projects}
                out["projects"] = [self._embedded(p, by_id.get(str(p.get("id")))) for p in out["projects"]]
        return out

    def _embedded(self, embedded: Record, listed: Optional[Record]) -> Record:
        if listed is None:
            return embedded
        served = self.served_project(listed)
        return {**embedded, **{k: served[k] for k in ("isMember", "hasAccess", "access") if k in embedded and k in served}}


def requested_project_ids(request: Request) -> Set[int]:
    raw = [value for value in request.getlist("project") if value != ""]
    try:
        return {int(value) for value in raw}
    except ValueError:
        raise ApiError(400, "Invalid project parameter. Values must be numbers.") from None


def project_team_slugs(project: Record) -> Set[str]:
    teams: Iterable = project.get("teams") or ([project["team"]] if project.get("team") else [])
    return {str(t.get("slug")) for t in teams if isinstance(t, dict) and t.get("slug")}


def project_ids(projects: Sequence[Record]) -> Set[str]:
    return {str(p.get("id")) for p in projects}

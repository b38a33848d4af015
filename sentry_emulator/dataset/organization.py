"""The organization (the GET /organizations/{org}/ body), its teams and its members.

Shapes: TeamSerializer with detailed=1 (GET /organizations/{org}/teams/: projects + externalTeams),
OrganizationMemberSerializer (GET /organizations/{org}/members/), UserSerializer (the members' users).
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Tuple

from .catalogues import FIRST_NAMES, LAST_NAMES, ORG_FEATURES, TEAM_ACCESS, UNUSED_ON_FRONTEND
from .helpers import format_datetime, random_hex
from .model import LONG_WINDOW, MEMBER_TEAMS, Record
from .project_facts import ProjectInfo, base_project

ACTIVE_MEMBERS, PENDING_MEMBERS = 12, 3


@dataclass(frozen=True)
class Organization:
    record: Record      # the GET /organizations/{org}/ body
    created: datetime
    dsn_host: str       # the ingest host in the project keys' DSNs


def build_organization(rng: random.Random, organization: str, now: datetime) -> Organization:
    org_id = rng.randrange(4_504_000_000_000_000, 4_509_000_000_000_000)
    org_created = now - LONG_WINDOW - timedelta(days=rng.randrange(30, 300), microseconds=rng.randrange(1, 999999))
    dsn_host = f"o{org_id}.ingest.us.sentry.io"
    org_name = organization.replace("-", " ").title()

    org_record: Record = {
        "id": str(org_id),
        "slug": organization,
        "status": {"id": "active", "name": "active"},
        "name": org_name,
        "dateCreated": format_datetime(org_created),
        "isEarlyAdopter": False,
        "require2FA": False,
        "requireEmailVerification": False,
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": None, "avatarUrl": None},
        "allowMemberInvite": True,
        "allowMemberProjectCreation": True,
        "allowSuperuserAccess": True,
        "links": {"organizationUrl": f"https://{organization}.sentry.io", "regionUrl": "https://us.sentry.io"},
        "hasAuthProvider": False,
        "features": list(ORG_FEATURES),
        "extraOptions": {"traces": {"spansExtractionDate": None, "checkSpanExtractionDate": False}},
    }
    return Organization(org_record, org_created, dsn_host)


def build_team_refs(rng: random.Random, infos: List[ProjectInfo]) -> Dict[str, Record]:
    """slug -> {id, slug, name} of every team: the projects' teams and "platform"."""
    team_slugs = []
    for p in infos:
        if p.team_slug not in team_slugs:
            team_slugs.append(p.team_slug)
    if "platform" not in team_slugs:
        team_slugs.append("platform")
    team_refs: Dict[str, Record] = {}
    for slug in sorted(team_slugs):
        team_refs[slug] = {"id": str(rng.randrange(4_504_000_000_000_000, 4_509_000_000_000_000)),
                           "slug": slug, "name": slug.title()}
    return team_refs


def build_members(rng: random.Random, organization: str, org_created: datetime,
                  now: datetime) -> Tuple[List[Record], List[Record]]:
    """(members, the active members' users); the users are also the actors of issues."""
    members: List[Record] = []
    member_users: List[Record] = []
    roles = [("owner", "Owner")] + [("manager", "Manager")] + [("admin", "Admin")] * 2 + \
        [("member", "Member")] * 8 + [("billing", "Billing")]
    member_id = rng.randrange(100_000_000, 120_000_000)
    inviter_names: List[str] = []
    for i in range(ACTIVE_MEMBERS + PENDING_MEMBERS):
        member_id += rng.randrange(1, 5000)
        role, role_name = roles[i % len(roles)]
        joined = org_created + timedelta(days=rng.randrange(0, 500), seconds=rng.randrange(86400),
                                         microseconds=rng.randrange(1, 999999))
        if i < ACTIVE_MEMBERS:
            first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i * 5) % len(LAST_NAMES)]
            email = f"{first.lower()}.{last.lower().replace('ü', 'ue')}@{organization}.io"
            user = user_record(rng, rng.randrange(1_000_000, 9_999_999), first, last, email, joined, now)
            if i == 0:
                user["identities"] = [sso_identity(user, organization)]
            member_users.append(user)
            inviter_names.append(user["name"])
            members.append({
                "id": str(member_id), "email": email, "name": user["name"], "user": user,
                "role": role, "roleName": role_name, "orgRole": role, "pending": False, "expired": False,
                "flags": {"idp:provisioned": False, "idp:role-restricted": False, "sso:linked": i % 4 == 0,
                          "sso:invalid": False, "member-limit:restricted": False,
                          "partnership:restricted": False},
                "dateCreated": format_datetime(joined),
                "inviteStatus": "approved",
                "inviterName": None if i == 0 else inviter_names[0],
            })
        else:
            email = f"new.hire{i - ACTIVE_MEMBERS + 1}@{organization}.io"
            invited = now - timedelta(days=rng.randrange(1, 60), seconds=rng.randrange(86400),
                                      microseconds=rng.randrange(1, 999999))
            members.append({
                "id": str(member_id), "email": email, "name": email, "user": None,
                "role": "member", "roleName": "Member", "orgRole": "member", "pending": True,
                "expired": (now - invited) > timedelta(days=30),
                "flags": {"idp:provisioned": False, "idp:role-restricted": False, "sso:linked": False,
                          "sso:invalid": False, "member-limit:restricted": False,
                          "partnership:restricted": False},
                "dateCreated": format_datetime(invited),
                "inviteStatus": "approved",
                "inviterName": rng.choice(inviter_names[:3]),
            })
    return members, member_users


def build_teams(rng: random.Random, team_refs: Dict[str, Record], infos: List[ProjectInfo],
                project_records: List[Record], org_created: datetime) -> List[Record]:
    teams: List[Record] = []
    for slug in sorted(team_refs):
        ref = team_refs[slug]
        tprojects = [base_project(p, [f for f in project_records[p.index]["features"]
                                      if f not in UNUSED_ON_FRONTEND])
                     for p in infos if p.team_slug == slug]
        is_member = slug in MEMBER_TEAMS
        teams.append({
            "id": ref["id"],
            "slug": slug,
            "name": ref["name"],
            "dateCreated": format_datetime(org_created + timedelta(days=rng.randrange(0, 200),
                                                                   microseconds=rng.randrange(1, 999999))),
            "isMember": is_member,
            "teamRole": "contributor" if is_member else None,
            "flags": {"idp:provisioned": False},
            "access": list(TEAM_ACCESS),
            "hasAccess": True,
            "isPending": False,
            "memberCount": rng.randrange(2, ACTIVE_MEMBERS + 1),
            "avatar": {"avatarType": "letter_avatar", "avatarUuid": None, "avatarUrl": None},
            "externalTeams": [slack_team_mapping(ref)] if is_member else [],
            "projects": tprojects,
        })
    return teams


def slack_team_mapping(team: Record) -> Record:
    """The team's Slack channel mapping (ExternalActorSerializer with key "team", as listed under
    externalTeams); derived from the team, not drawn, so the rest of the data is as before."""
    number = int(team["id"]) % 1_000_000
    return {
        "id": str(20_000 + number % 9_000),
        "provider": "slack",
        "externalName": f"#{team['slug']}-alerts",
        "integrationId": "182733",
        "externalId": f"C0{number:07d}",
        "teamId": team["id"],
    }


def sso_identity(user: Record, organization: str) -> Record:
    """The requesting user's own SSO identity: UserSerializer sends identities only for the user the
    token belongs to (src/sentry/users/api/serializers/user.py UserSerializer._get_identities); the
    emulator's token belongs to the owner, the first member."""
    return {
        "id": str(int(user["id"]) % 100_000 + 300_000),
        "name": user["email"],
        "organization": {"slug": organization, "name": organization.replace("-", " ").title()},
        "provider": {"id": "google", "name": "Google"},
        "dateVerified": user["lastLogin"],
        "dateSynced": user["lastLogin"],
    }


def user_record(rng: random.Random, uid: int, first: str, last: str, email: str, joined: datetime,
                now: datetime) -> Record:
    """UserSerializer output as embedded in members, assignees' actors, etc."""
    last_login = joined + timedelta(seconds=rng.randrange(1, max(2, int((now - joined).total_seconds()))))
    last_active = min(now - timedelta(seconds=rng.randrange(60, 86400 * 20)), now)
    if last_active < last_login:
        last_active = last_login
    avatar_upload = rng.random() < 0.3
    return {
        "id": str(uid),
        "name": f"{first} {last}",
        "username": email,
        "email": email,
        "avatarUrl": "https://gravatar.com/avatar/%s?s=32&d=mm" % hashlib.md5(email.encode()).hexdigest(),
        "isActive": True,
        "isSuspended": False,
        "hasPasswordAuth": rng.random() < 0.6,
        "isManaged": False,
        "dateJoined": format_datetime(joined),
        "lastLogin": format_datetime(last_login),
        "has2fa": rng.random() < 0.55,
        "lastActive": format_datetime(last_active),
        "isSuperuser": False,
        "isStaff": False,
        "experiments": {},
        "emails": [{"id": str(uid + 7), "email": email, "is_verified": True}],
        "avatar": {
            "avatarType": "upload" if avatar_upload else "letter_avatar",
            "avatarUuid": random_hex(rng) if avatar_upload else None,
            "avatarUrl": f"https://sentry.io/avatar/{random_hex(rng)}/" if avatar_upload else None,
        },
    }

"""Authentication (a Bearer token) and token scopes, with real Sentry's answers."""
from __future__ import annotations

from typing import Any, Iterable, Optional, Set

from .errors import DETAIL_FORBIDDEN, ApiError

# Exact texts of real Sentry (sources named where each is produced).
DETAIL_NOT_AUTHENTICATED = "Authentication credentials were not provided."  # DRF NotAuthenticated
DETAIL_INVALID_TOKEN = "Invalid token"  # sentry/api/authentication.py UserAuthTokenAuthentication
DETAIL_NO_CREDENTIALS = "Invalid token header. No credentials provided."  # StandardAuthentication
DETAIL_TOKEN_SPACES = "Invalid token header. Token string should not contain spaces."
WWW_AUTHENTICATE = 'xBasic realm="api"'  # sentry/api/authentication.py QuietBasicAuthentication

# Token scopes accepted per endpoint (scope_map["GET"] of each endpoint's permission class).
ORG_READ = ("org:read", "org:write", "org:admin")
PROJECT_READ = ("project:read", "project:write", "project:admin")
EVENT_READ = ("event:read", "event:write", "event:admin")
RELEASE_READ = ("project:read", "project:write", "project:admin", "project:releases", "org:ci")
MEMBER_READ = ("member:read", "member:write", "member:admin")


def authenticate(headers: Any, token: str) -> None:
    """401 unless the Authorization header is ``Bearer <token>``."""
    header = headers.get("Authorization") or ""
    parts = header.split()
    challenge = [("WWW-Authenticate", WWW_AUTHENTICATE)]
    if not parts or parts[0].lower() != "bearer":
        raise ApiError(401, DETAIL_NOT_AUTHENTICATED, headers=challenge)
    if len(parts) == 1:
        raise ApiError(401, DETAIL_NO_CREDENTIALS, headers=challenge)
    if len(parts) > 2:
        raise ApiError(401, DETAIL_TOKEN_SPACES, headers=challenge)
    if parts[1] != token:
        raise ApiError(401, DETAIL_INVALID_TOKEN, headers=challenge)


def check_scope(granted: Optional[Set[str]], accepted: Iterable[str]) -> None:
    """403 unless the token has one of the scopes an endpoint accepts (None: every scope)."""
    if granted is None:
        return
    if not any(scope in granted for scope in accepted):
        raise ApiError(403, DETAIL_FORBIDDEN)

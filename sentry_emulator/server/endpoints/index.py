"""What the API root answers without authentication: its index and, for unknown paths, the catch-all."""
from __future__ import annotations

from typing import Any, Optional, Set

from ..plumbing import Response, json_body
from ..routes import ALL_SCOPES


def api_index(headers: Any, token: str, granted: Optional[Set[str]]) -> Response:
    """sentry/api/endpoints/index.py IndexEndpoint: no permission needed; says who is asking."""
    parts = (headers.get("Authorization") or "").split()
    known = len(parts) == 2 and parts[0].lower() == "bearer" and parts[1] == token
    scopes = granted if granted is not None else ALL_SCOPES
    auth = {"scopes": sorted(scopes)} if known else None
    return Response(200, json_body({"version": "0", "auth": auth, "user": None}))


def catchall(path: str, headers: Any) -> Response:
    """sentry/api/endpoints/catchall.py CatchallEndpoint (no authentication)."""
    if not path.endswith("/"):
        help_text = "Route not found, did you forget a trailing slash?"
        suggestion = f"try: {path}/"
        if (headers.get("Content-Type") or "").startswith("application/json"):
            return Response(404, json_body({"info": f"{help_text} {suggestion}"}))
        arrow = " " * (len(suggestion) - 1) + "^"
        return Response(404, f"{help_text}\n\n{suggestion}\n{arrow}\n".encode(), "text/plain")
    return Response(404, b"", "text/html; charset=utf-8")

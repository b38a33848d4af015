"""The errors an endpoint raises, and the detail texts several modules answer with."""
from __future__ import annotations

from typing import Any, Sequence, Tuple

DETAIL_FORBIDDEN = "You do not have permission to perform this action."  # DRF PermissionDenied
DETAIL_NOT_FOUND = "The requested resource does not exist"  # sentry/api/exceptions.py ResourceDoesNotExist


class ApiError(Exception):
    """Answered as ``status`` with ``{"detail": detail}`` (or ``body``) and ``headers``."""

    def __init__(self, status: int, detail: Any = None, *, headers: Sequence[Tuple[str, str]] = (), body: Any = None):
        super().__init__(detail)
        self.status = status
        self.body = body if body is not None else {"detail": detail}
        self.headers = list(headers)


class InvalidParams(Exception):
    """A query parameter that does not parse; each endpoint words its own 400."""

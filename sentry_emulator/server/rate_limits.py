"""Sentry's rate limits: fixed windows per endpoint and caller, a concurrency limit, the
X-Sentry-Rate-Limit-* headers on every answer and a 429 past either limit.

Modelled on src/sentry/middleware/ratelimit.py (RatelimitMiddleware):
- process_view answers a request over a limit itself: `HttpResponse(orjson.dumps({"detail":
  DEFAULT_ERROR_MESSAGE or DEFAULT_CONCURRENT_ERROR_MESSAGE}), status=429)`. Django's HttpResponse
  keeps its default content type, `text/html; charset=utf-8`, and nothing sets `Retry-After`.
- process_response writes the X-Sentry-Rate-Limit-* headers on every answer of a limited view,
  the 429 included, and only when the request has rate-limit metadata.
- `if settings.SENTRY_SELF_HOSTED: return None` comes first in process_view: a self-hosted Sentry
  never limits and never sends these headers (SentryEmulator(self_hosted=True)).
Older versions served the message as a bare JSON string (SentryEmulator(rate_limit_body="string")):
PR #33629 "fix(rate limit): Format 429 response correctly" (2022-04-14) changed the body; the exact
older body is taken from /work/shared/sentry-api.md and was not re-read in Sentry's history.
"""
from __future__ import annotations

import json
import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .plumbing import Response

# The body shapes of Sentry's own 429: the current {"detail": ...} object, or an older bare string.
RATE_LIMIT_BODIES = ("detail", "string")
# Django's HttpResponse default (settings.DEFAULT_CONTENT_TYPE / DEFAULT_CHARSET).
DJANGO_DEFAULT_CONTENT_TYPE = "text/html; charset=utf-8"

RATE_LIMIT_MESSAGE = "You are attempting to use this endpoint too frequently. Limit is {limit} requests in {window} seconds"
CONCURRENT_LIMIT_MESSAGE = (
    "You are attempting to go above the allowed concurrency for this endpoint. Concurrency limit is {limit}"
)


@dataclass
class RateLimitRule:
    """A fixed-window rate limit for every request whose path matches ``path_regex`` (re.search).

    All requests matching one rule share its window, like Sentry's per-endpoint, per-caller limits.
    Windows are aligned on multiples of ``window_seconds`` since the epoch.
    """

    path_regex: str
    limit: int
    window_seconds: float
    concurrent_limit: int = 25
    _window_start: float = field(default=-1.0, init=False, repr=False, compare=False)
    _count: int = field(default=0, init=False, repr=False, compare=False)
    _in_flight: int = field(default=0, init=False, repr=False, compare=False)

    def matches(self, path: str) -> bool:
        return re.search(self.path_regex, path) is not None


class RateLimiter:
    """Counts requests against the first matching rule of ``rules``; a path no rule matches gets
    its own default limit (1000 per second, 25 concurrent)."""

    def __init__(self) -> None:
        self._rl_lock = threading.Lock()
        self._default_limits: Dict[str, RateLimitRule] = {}

    def rule_for(self, path: str, rules: Sequence[RateLimitRule]) -> RateLimitRule:
        for rule in list(rules):
            if rule.matches(path):
                return rule
        with self._rl_lock:
            rule = self._default_limits.get(path)
            if rule is None:
                rule = self._default_limits[path] = RateLimitRule(re.escape(path), 1000, 1.0, 25)
            return rule

    def acquire(self, path: str, rules: Sequence[RateLimitRule]) -> Tuple[RateLimitRule, List[Tuple[str, str]], Optional[str]]:
        """(the rule, the rate-limit headers, the 429 detail if the request is over a limit)."""
        rule = self.rule_for(path, rules)
        now = time.time()
        with self._rl_lock:
            window = float(rule.window_seconds)
            window_start = math.floor(now / window) * window
            if rule._window_start != window_start:
                rule._window_start = window_start
                rule._count = 0
            rule._count += 1
            rule._in_flight += 1
            limited = None
            if rule._count > rule.limit:
                limited = RATE_LIMIT_MESSAGE.format(limit=rule.limit, window=format_window(window))
            elif rule._in_flight > rule.concurrent_limit:
                limited = CONCURRENT_LIMIT_MESSAGE.format(limit=rule.concurrent_limit)
            headers = [
                ("X-Sentry-Rate-Limit-Remaining", str(max(0, rule.limit - rule._count))),
                ("X-Sentry-Rate-Limit-Limit", str(rule.limit)),
                ("X-Sentry-Rate-Limit-Reset", str(int(math.ceil(window_start + window)))),
                ("X-Sentry-Rate-Limit-ConcurrentRemaining", str(max(0, rule.concurrent_limit - rule._in_flight))),
                ("X-Sentry-Rate-Limit-ConcurrentLimit", str(rule.concurrent_limit)),
            ]
        return rule, headers, limited

    def release(self, rule: RateLimitRule) -> None:
        with self._rl_lock:
            rule._in_flight = max(0, rule._in_flight - 1)


def rate_limited(detail: str, body_shape: str, headers: List[Tuple[str, str]]) -> Response:
    """Sentry's own 429: the message as `body_shape` says (RATE_LIMIT_BODIES), served as Django's
    default text/html, with the rate-limit headers and no Retry-After."""
    payload = {"detail": detail} if body_shape == "detail" else detail
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")  # orjson.dumps is compact
    return Response(429, body, DJANGO_DEFAULT_CONTENT_TYPE, headers=list(headers))


def format_window(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)

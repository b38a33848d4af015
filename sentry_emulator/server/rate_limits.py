"""Sentry's rate limits: fixed windows per endpoint and caller, a concurrency limit, the
X-Sentry-Rate-Limit-* headers on every answer and a 429 past either limit."""
from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

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


def format_window(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)

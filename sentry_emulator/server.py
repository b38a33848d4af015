"""A local HTTP emulator of the Sentry REST API (``/api/0/``), standard library only.

It serves a :class:`~sentry_emulator.dataset.Dataset` the way sentry.io answers, including the
behaviour a connector must survive: Link-header cursors (offset cursors for most endpoints, score
cursors for issues), the implicit ``is:unresolved`` issue query, the events date-range rules,
token scopes, Sentry's rate-limit headers and 429s, and injectable transport faults.

Where the real behaviour was checked against getsentry/sentry's source, the file and symbol are
named next to the code (``sentry/api/paginator.py`` and friends).

Usage::

    with SentryEmulator(dataset) as emulator:
        requests.get(emulator.url + "/api/0/organizations/acme/projects/",
                     headers={"Authorization": "Bearer emulator-token"})
"""
from __future__ import annotations

import json
import math
import random
import re
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from .dataset import event_summary
from .dataset import Dataset, Record

__all__ = [
    "SentryEmulator",
    "RequestRecord",
    "RateLimitRule",
    "FaultInjector",
    "FaultRule",
    "FAULT_KINDS",
]

UTC = timezone.utc
API_ROOT = "/api/0/"
MAX_PER_PAGE = 100  # sentry/api/paginator.py MAX_LIMIT
MAX_STATS_PERIOD = timedelta(days=90)  # sentry/api/utils.py MAX_STATS_PERIOD
SEARCH_MAX_HITS = 1000

# Exact texts of real Sentry (sources named where each is produced).
DETAIL_NOT_AUTHENTICATED = "Authentication credentials were not provided."  # DRF NotAuthenticated
DETAIL_INVALID_TOKEN = "Invalid token"  # sentry/api/authentication.py UserAuthTokenAuthentication
DETAIL_NO_CREDENTIALS = "Invalid token header. No credentials provided."  # StandardAuthentication
DETAIL_TOKEN_SPACES = "Invalid token header. Token string should not contain spaces."
DETAIL_FORBIDDEN = "You do not have permission to perform this action."  # DRF PermissionDenied
DETAIL_NOT_FOUND = "The requested resource does not exist"  # sentry/api/exceptions.py ResourceDoesNotExist
DETAIL_INVALID_CURSOR = "Invalid cursor parameter."  # sentry/utils/pagination_factory.py get_cursor
DETAIL_EVENTS_DATE_RANGE = "Invalid date range parameters provided"  # issues/endpoints/project_events.py
DETAIL_RELEASE_STATUS = "invalid value for status"  # releases/endpoints/organization_releases.py
ERR_PROJECT_ISSUES_STATS_PERIOD = "Invalid stats_period. Valid choices are '', '24h', and '14d'"
ERR_ORG_ISSUES_STATS_PERIOD = "Invalid stats_period. Valid choices are '', '24h', '14d' and 'auto'"
RATE_LIMIT_MESSAGE = "You are attempting to use this endpoint too frequently. Limit is {limit} requests in {window} seconds"
CONCURRENT_LIMIT_MESSAGE = (
    "You are attempting to go above the allowed concurrency for this endpoint. Concurrency limit is {limit}"
)
WWW_AUTHENTICATE = 'xBasic realm="api"'  # sentry/api/authentication.py QuietBasicAuthentication

# Deprecation of GET /projects/{org}/{project}/issues/ (sentry/api/helpers/deprecation.py headers).
PROJECT_ISSUES_DEPRECATION_DATE = "2024-12-01T00:00:00+00:00"

# Token scopes accepted per endpoint (scope_map["GET"] of each endpoint's permission class).
ORG_READ = ("org:read", "org:write", "org:admin")
PROJECT_READ = ("project:read", "project:write", "project:admin")
EVENT_READ = ("event:read", "event:write", "event:admin")
RELEASE_READ = ("project:read", "project:write", "project:admin", "project:releases", "org:ci")
MEMBER_READ = ("member:read", "member:write", "member:admin")

# Issue search `is:` values (sentry/models/group.py STATUS_QUERY_CHOICES).
IS_STATUS = {
    "resolved": "resolved",
    "unresolved": "unresolved",
    "ignored": "ignored",
    "archived": "ignored",
    "muted": "ignored",
    "reprocessing": "reprocessing",
}
IS_VALID_VALUES = sorted(
    set(IS_STATUS)
    | {
        "assigned",
        "unassigned",
        "for_review",
        "linked",
        "unlinked",
        "archived_until_escalating",
        "archived_until_condition_met",
        "archived_forever",
        "escalating",
        "ongoing",
        "regressed",
        "new",
    }
)

# Outcomes (sentry/utils/outcomes.py) and the data categories accepted by stats_v2.
OUTCOMES = ("accepted", "filtered", "rate_limited", "invalid", "abuse", "client_discard", "cardinality_limited")
CATEGORIES = (
    "error",
    "default",
    "security",
    "transaction",
    "transaction_indexed",
    "attachment",
    "session",
    "profile",
    "profile_indexed",
    "profile_duration",
    "profile_chunk",
    "replay",
    "monitor",
    "monitor_seat",
    "span",
    "span_indexed",
    "user_report_v2",
    "feedback",
    "log_item",
    "log_byte",
    "uptime",
    "attachment_item",
)
ERROR_CATEGORIES = {"error", "default", "security"}
STATS_FIELDS = ("sum(quantity)", "sum(times_seen)")
STATS_GROUPBY = ("outcome", "category", "reason", "key_id", "project")
STATS_MAX_POINTS = 1000

FAULT_KINDS = (
    "500", "502_html", "503", "504", "429", "429_retry_after", "invalid_json", "reset", "truncated", "slow", "latency",
    "short_page",
)

_PERIOD_RE = re.compile(r"^(\d+)([hdmsw]?)$")
_PERIOD_UNITS = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


# --------------------------------------------------------------------------------------------
# Public helper types
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator received (faulted and rate-limited ones included)."""

    method: str
    path: str  # request path without the query string (path_prefix included)
    query: Dict[str, List[str]]
    status: int  # 0 when the connection was reset without a response
    time: float  # epoch seconds when the request arrived


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


@dataclass
class FaultRule:
    path_regex: str
    kind: str
    every: Optional[int] = None
    times: Optional[int] = None
    probability: Optional[float] = None
    seed: int = 0
    delay: float = 0.0
    matched: int = 0  # matching requests seen
    fired: int = 0  # faults injected
    _rng: random.Random = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._pattern = re.compile(self.path_regex)

    def _consider(self, path: str) -> bool:
        if not self._pattern.search(path):
            return False
        self.matched += 1
        if self.every is not None and self.matched % self.every != 0:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.probability is not None and self._rng.random() >= self.probability:
            return False
        self.fired += 1
        return True


class FaultInjector:
    """Injects failures into matching requests.

    ``add(path_regex, kind, every=N)`` fails every Nth matching request, ``times=K`` only the first
    K that would fail, ``probability=p`` each with a seeded RNG; they combine. Kinds:

    - ``"500"``: Sentry's ``{"detail": "Internal Error", "errorId": ...}``
    - ``"502_html"``, ``"503"``, ``"504"``: HTML error pages of a reverse proxy (text/html)
    - ``"429"``: Sentry's 429 with rate-limit headers (reset in 1 s), no Retry-After
    - ``"invalid_json"``: 200 whose JSON body is cut in half
    - ``"reset"``: the connection is closed (TCP RST) without any response
    - ``"truncated"``: Content-Length promises more bytes than are sent, then the connection closes
    - ``"slow"``: sleeps ``delay`` seconds, then answers normally (client timeouts)
    - ``"latency"``: like ``slow``; meant for every request of a benchmark (no selector needed)
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: List[FaultRule] = []
        self._hooks: List[Callable[[str, Dict[str, List[str]]], None]] = []

    def add(
        self,
        path_regex: str,
        kind: str,
        *,
        every: Optional[int] = None,
        times: Optional[int] = None,
        probability: Optional[float] = None,
        seed: int = 0,
        delay: float = 0.0,
    ) -> FaultRule:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {FAULT_KINDS}")
        if every is not None and every < 1:
            raise ValueError("every must be >= 1")
        rule = FaultRule(path_regex, kind, every=every, times=times, probability=probability, seed=seed, delay=delay)
        with self._lock:
            self._rules.append(rule)
        return rule

    def on_request(self, callback: Callable[[str, Dict[str, List[str]]], None]) -> Callable[[], None]:
        """Call ``callback(path, query)`` before each request is served; returns a remover."""
        with self._lock:
            self._hooks.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._hooks:
                    self._hooks.remove(callback)

        return remove

    def clear(self) -> None:
        """Remove every fault rule and every on_request hook."""
        with self._lock:
            self._rules.clear()
            self._hooks.clear()

    @property
    def rules(self) -> List[FaultRule]:
        with self._lock:
            return list(self._rules)

    def _hooks_snapshot(self) -> List[Callable[[str, Dict[str, List[str]]], None]]:
        with self._lock:
            return list(self._hooks)

    def _select(self, path: str) -> List[FaultRule]:
        with self._lock:
            return [rule for rule in self._rules if rule._consider(path)]


# --------------------------------------------------------------------------------------------
# Internal plumbing
# --------------------------------------------------------------------------------------------
class ApiError(Exception):
    def __init__(self, status: int, detail: Any = None, *, headers: Sequence[Tuple[str, str]] = (), body: Any = None):
        super().__init__(detail)
        self.status = status
        self.body = body if body is not None else {"detail": detail}
        self.headers = list(headers)


class _InvalidParams(Exception):
    pass


@dataclass
class _Response:
    status: int
    body: bytes = b""
    content_type: Optional[str] = "application/json"
    headers: List[Tuple[str, str]] = field(default_factory=list)


@dataclass
class _Request:
    method: str
    path: str  # raw path (path_prefix included, percent-encoded as sent)
    api_path: str  # raw path below /api/0/ (percent-encoded)
    pairs: List[Tuple[str, str]]
    query: Dict[str, List[str]]
    headers: Any
    host: str

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """Last value, like Django's QueryDict.get."""
        values = self.query.get(name)
        return values[-1] if values else default

    def getlist(self, name: str) -> List[str]:
        return list(self.query.get(name, []))

    def has(self, name: str) -> bool:
        return name in self.query


@dataclass
class _Cursor:
    value: Any
    offset: int
    is_prev: bool
    has_results: Optional[bool] = None

    def __str__(self) -> str:
        return f"{self.value}:{self.offset}:{int(self.is_prev)}"


def _json(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(", ", ": ")).encode("utf-8")


def _public(value: Any) -> Any:
    """Copy of a record without private ``_`` keys (recursively)."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not (isinstance(k, str) and k.startswith("_"))}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _parse_iso(value: str) -> datetime:
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_datetime_string(value: str) -> datetime:
    """sentry/search/utils.py parse_datetime_string: ISO 8601 (naive = UTC) or a unix timestamp."""
    try:
        return _parse_iso(value)
    except (ValueError, IndexError):
        pass
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise _InvalidParams(f"{value} is not a valid ISO8601 date query")


def parse_stats_period(period: str) -> Optional[timedelta]:
    """sentry/utils/dates.py parse_stats_period: ``<number><s|m|h|d|w>``, bare numbers are seconds."""
    match = _PERIOD_RE.match(period or "")
    if not match:
        return None
    number, unit = match.groups()
    try:
        return timedelta(**{_PERIOD_UNITS[unit]: int(number)})
    except OverflowError:
        return timedelta.max


def _record_time(record: Record, key: str) -> Optional[float]:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    try:
        return _parse_iso(str(value)).timestamp()
    except (ValueError, IndexError):
        return None


def _isoformat_z(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).replace(tzinfo=None).isoformat() + "Z"


def _id_key(value: Any) -> Tuple[int, Any]:
    """Sort key for ids: numeric ids numerically, other ids as text after them."""
    text = str(value) if value is not None else ""
    return (0, int(text), "") if text.isdigit() else (1, 0, text)  # type: ignore[return-value]


def _format_window(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


# --------------------------------------------------------------------------------------------
# Paginators (sentry/api/paginator.py, sentry/utils/cursors.py)
# --------------------------------------------------------------------------------------------
def _parse_cursor(raw: Optional[str]) -> Optional[_Cursor]:
    """Cursor.from_string: ``value:offset:is_prev``; value is an int (or a float if it has a dot)."""
    if not raw:
        return None
    bits = raw.split(":")
    if len(bits) != 3:
        raise ApiError(400, DETAIL_INVALID_CURSOR)
    try:
        value: Any = float(bits[0]) if "." in bits[0] else int(bits[0])
        return _Cursor(value, int(bits[1]), bool(int(bits[2])))
    except (TypeError, ValueError):
        raise ApiError(400, DETAIL_INVALID_CURSOR) from None


def _offset_paginate(rows: Sequence[Any], limit: int, cursor: Optional[_Cursor]):
    """OffsetPaginator: cursor ``limit:page:is_prev`` (e.g. next of the first page is ``100:1:0``)."""
    cursor = cursor or _Cursor(0, 0, False)
    page = cursor.offset
    value = int(cursor.value or 0)
    offset = page * value
    if offset < 0:
        raise ApiError(400, "Pagination offset cannot be negative")
    stop = offset + (value or limit) + 1
    results = list(rows[offset:stop])
    if value != limit:
        results = results[-(limit + 1):]
    next_cursor = _Cursor(limit, page + 1, False, len(results) > limit)
    prev_cursor = _Cursor(limit, page - 1, True, page > 0)
    return results[:limit], prev_cursor, next_cursor


def _generic_offset_paginate(rows: Sequence[Any], limit: int, cursor: Optional[_Cursor]):
    """GenericOffsetPaginator (events): cursor ``0:<row offset>:is_prev``."""
    offset = cursor.offset if cursor is not None else 0
    if offset < 0:
        raise ApiError(400, "Pagination offset cannot be negative")
    data = list(rows[offset: offset + limit + 1])
    has_more = len(data) == limit + 1
    if has_more:
        data.pop()
    prev_cursor = _Cursor(0, max(0, offset - limit), True, offset > 0)
    next_cursor = _Cursor(0, max(0, offset + limit), False, has_more)
    return data, prev_cursor, next_cursor


def _reverse_bisect_left(a: Sequence[Any], x: Any, lo: int = 0, hi: Optional[int] = None) -> int:
    if lo < 0:
        raise ValueError("lo must be non-negative")
    if hi is None or hi > len(a):
        hi = len(a)
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] > x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _sequence_paginate(scored: Sequence[Tuple[int, Any]], limit: int, cursor: Optional[_Cursor]):
    """SequencePaginator(reverse=True) as the issue search uses it: cursor ``score:offset:is_prev``.

    ``scored`` is sorted by score, newest first. The next cursor names the score of the first row of
    the next page and how many rows with that score the client has already seen.
    """
    limit = min(limit, MAX_PER_PAGE)
    cursor = cursor or _Cursor(0, 0, False)
    if cursor.offset < 0:
        raise ApiError(400, DETAIL_INVALID_CURSOR)
    scores = [score for score, _ in scored]

    def search(x: Any, hi: Optional[int] = None) -> int:
        return _reverse_bisect_left(scores, x, 0, hi)

    if cursor.value == 0:
        position = len(scores) if cursor.is_prev else 0
    else:
        position = search(cursor.value)
    position += cursor.offset
    if cursor.is_prev:
        hi = min(position, len(scores))
        lo = max(hi - limit, 0)
    else:
        lo = max(position, 0)
        hi = min(lo + limit, len(scores))
    if scores:
        prev_score = scores[min(lo, len(scores) - 1)]
        prev_cursor = _Cursor(prev_score, lo - search(prev_score, hi=lo), True, lo > 0)
        next_score = scores[min(hi, len(scores) - 1)]
        next_cursor = _Cursor(next_score, hi - search(next_score, hi=hi), False, hi < len(scores))
    else:
        prev_cursor = _Cursor(cursor.value, cursor.offset, True, False)
        next_cursor = _Cursor(cursor.value, cursor.offset, False, False)
    return [item for _, item in scored[lo:hi]], prev_cursor, next_cursor


def _value_paginate_desc(keyed: Sequence[Tuple[int, Any]], limit: int, cursor: Optional[_Cursor]):
    """Paginator(order_by="-<key>") (BasePaginator + build_cursor) over integer keys, sorted desc."""
    cursor = cursor or _Cursor(0, 0, False)
    value = int(cursor.value or 0)
    if cursor.offset < 0:
        raise ApiError(400, "Pagination offset cannot be negative")
    if cursor.is_prev:  # ascending scan from the cursor value
        ordered = sorted(keyed, key=lambda kv: kv[0])
        if value:
            ordered = [kv for kv in ordered if kv[0] >= value]
    else:
        ordered = list(keyed)
        if value:
            ordered = [kv for kv in ordered if kv[0] <= value]
    extra = 2 if (cursor.is_prev and value) else 1
    offset = cursor.offset
    results = ordered[offset: offset + limit + extra]
    if cursor.is_prev and value:
        if results and results[0][0] == value:
            results = results[1:]
        elif len(results) == offset + limit + extra:
            results = results[:-1]
    if cursor.is_prev:
        results.reverse()

    def key(kv: Tuple[int, Any]) -> int:
        return kv[0]

    # _build_next_values (is_desc=True)
    num = len(results)
    next_value = value
    if not next_value and num:
        next_value = key(results[0])
    if cursor.is_prev:
        nxt = (next_value, 0, True)
    elif not num:
        nxt = (next_value, offset, False)
    else:
        has_next = num > limit
        last_value = key(results[-1])
        if last_value == next_value:
            nxt = (last_value, offset + limit, has_next)
        else:
            next_offset = 0
            iterator = reversed(results)
            if has_next:
                next(iterator)
            for row in iterator:
                if key(row) <= last_value:
                    next_offset += 1
                else:
                    break
            nxt = (last_value, next_offset, has_next)
    # _build_prev_values (is_desc=True)
    if cursor.is_prev:
        has_prev: Any = num > limit
    else:
        has_prev = value or offset
    first_prev_index = 1 if (cursor.is_prev and has_prev) else 0
    prev_value = key(results[first_prev_index]) if results else 0
    prev_offset = offset if cursor.is_prev else 0
    if cursor.is_prev and num:
        if prev_value == value:
            prev_offset = offset + limit
        else:
            prev_offset = 0
            iterator = iter(results)
            if has_prev:
                next(iterator)
            next(iterator, None)
            for row in iterator:
                if key(row) >= prev_value:
                    prev_offset += 1
                else:
                    break
    if cursor.is_prev and has_prev:
        results = results[1:]
    elif not cursor.is_prev:
        results = results[:limit]
    next_cursor = _Cursor(nxt[0] or 0, nxt[1], False, bool(nxt[2]))
    prev_cursor = _Cursor(prev_value or 0, prev_offset, True, bool(has_prev))
    return [row for _, row in results], prev_cursor, next_cursor


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------
_Route = Tuple[re.Pattern, str]
_ROUTES: List[_Route] = [
    (re.compile(r"^organizations/(?P<org>[^/]+)/$"), "org_detail"),
    (re.compile(r"^organizations/(?P<org>[^/]+)/projects/$"), "org_projects"),
    (re.compile(r"^organizations/(?P<org>[^/]+)/issues/$"), "org_issues"),
    (re.compile(r"^organizations/(?P<org>[^/]+)/releases/$"), "org_releases"),
    (re.compile(r"^organizations/(?P<org>[^/]+)/releases/(?P<version>[^/]+)/deploys/$"), "release_deploys"),
    (re.compile(r"^organizations/(?P<org>[^/]+)/teams/$"), "org_teams"),
    (re.compile(r"^organizations/(?P<org>[^/]+)/members/$"), "org_members"),
    (re.compile(r"^organizations/(?P<org>[^/]+)/stats_v2/$"), "org_stats_v2"),
    (re.compile(r"^projects/(?P<org>[^/]+)/(?P<project>[^/]+)/$"), "project_detail"),
    (re.compile(r"^projects/(?P<org>[^/]+)/(?P<project>[^/]+)/events/$"), "project_events"),
    (re.compile(r"^projects/(?P<org>[^/]+)/(?P<project>[^/]+)/issues/$"), "project_issues"),
    (re.compile(r"^projects/(?P<org>[^/]+)/(?P<project>[^/]+)/keys/$"), "project_keys"),
    (re.compile(r"^projects/(?P<org>[^/]+)/(?P<project>[^/]+)/environments/$"), "project_environments"),
]

_SCOPES: Dict[str, Tuple[str, ...]] = {
    "org_detail": ORG_READ,
    "org_projects": ORG_READ,  # OrganizationProjectsPermission
    "org_teams": ORG_READ,  # OrganizationTeamsPermission
    "org_members": MEMBER_READ,  # MemberPermission
    "org_stats_v2": ORG_READ,
    "org_issues": EVENT_READ,  # OrganizationEventPermission
    "org_releases": RELEASE_READ,  # OrganizationReleasePermission
    "release_deploys": RELEASE_READ,
    "project_detail": PROJECT_READ,  # ProjectPermission
    "project_keys": PROJECT_READ,
    "project_environments": PROJECT_READ,
    "project_events": EVENT_READ,  # ProjectEventPermission
    "project_issues": EVENT_READ,
}

_PROXY_PAGES = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


class SentryEmulator:
    """Serves a Dataset as Sentry's REST API on a local port. Thread-safe; usable as a context manager."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        token: str = "emulator-token",
        scopes: Optional[Iterable[str]] = None,
        host: str = "127.0.0.1",
        port: int = 0,
        path_prefix: str = "",
        default_page_size: int = 100,
        now: Optional[Callable[[], datetime]] = None,
        retention_days: Optional[int] = None,
    ) -> None:
        self.dataset = dataset
        self.token = token
        self.scopes: Optional[set] = set(scopes) if scopes is not None else None
        self.host = host
        self.port = port
        self.path_prefix = "/" + path_prefix.strip("/") if path_prefix.strip("/") else ""
        self.default_page_size = default_page_size
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        self.retention_days = retention_days
        self.faults = FaultInjector()
        self.rate_limits: List[RateLimitRule] = []
        self._default_limits: Dict[str, RateLimitRule] = {}
        self._rl_lock = threading.Lock()
        self._lock = threading.RLock()  # dataset, caches
        self._log_lock = threading.Lock()
        self._log: List[RequestRecord] = []
        self._cache: Dict[Any, Any] = {}
        self._version = 0
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    # ---------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        """Base URL (``http://host:port`` + path_prefix); the API lives at ``url + "/api/0/"``."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{self.host}:{self.port}{self.path_prefix}"

    @property
    def api_url(self) -> str:
        return self.url + "/api/0/"

    def start(self) -> "SentryEmulator":
        if self._server is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"emulator": self})
        server = _Server((self.host, self.port), handler)
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"sentry-emulator:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "SentryEmulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---------------------------------------------------------------- request log
    @property
    def requests(self) -> List[RequestRecord]:
        with self._log_lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def on_request(self, callback: Callable[[str, Dict[str, List[str]]], None]) -> Callable[[], None]:
        """Shortcut for ``faults.on_request``: ``callback(path, query)`` runs before each request."""
        return self.faults.on_request(callback)

    # ---------------------------------------------------------------- dataset mutation
    def invalidate_cache(self) -> None:
        """Call after mutating records of ``dataset`` in place without the add_/update_ methods."""
        with self._lock:
            self._version += 1
            self._cache.clear()

    def _project_summary(self, project_slug: str) -> Record:
        for project in self.dataset.projects:
            if project.get("slug") == project_slug or str(project.get("id")) == str(project_slug):
                return project
        raise KeyError(f"unknown project {project_slug!r}")

    def add_event(self, project_slug: str, record: Record) -> Record:
        with self._lock:
            project = self._project_summary(project_slug)
            record.setdefault("projectID", str(project.get("id")))
            self.dataset.events.setdefault(project["slug"], []).append(record)
            self.invalidate_cache()
        return record

    def add_issue(self, project_slug: str, record: Record) -> Record:
        with self._lock:
            project = self._project_summary(project_slug)
            record.setdefault("project", {"id": str(project.get("id")), "slug": project["slug"]})
            record.setdefault("status", "unresolved")
            self.dataset.issues.setdefault(project["slug"], []).append(record)
            self.invalidate_cache()
        return record

    def add_release(self, record: Record) -> Record:
        with self._lock:
            record.setdefault("_status", "open")
            self.dataset.releases.append(record)
            self.invalidate_cache()
        return record

    def update_issue(self, issue_id: Any, **fields: Any) -> Record:
        with self._lock:
            for issues in self.dataset.issues.values():
                for issue in issues:
                    if str(issue.get("id")) == str(issue_id):
                        issue.update(fields)
                        self.invalidate_cache()
                        return issue
        raise KeyError(f"unknown issue {issue_id!r}")

    # ---------------------------------------------------------------- request handling
    def _record(self, method: str, path: str, query: Dict[str, List[str]], status: int, started: float) -> None:
        with self._log_lock:
            self._log.append(RequestRecord(method, path, query, status, started))

    def _serve(self, h: "_Handler") -> None:
        started = time.time()
        split = urlsplit(h.path)
        path = split.path
        pairs = parse_qsl(split.query, keep_blank_values=True)
        query: Dict[str, List[str]] = {}
        for key, value in pairs:
            query.setdefault(key, []).append(value)
        method = h.command
        recorded = False

        def record(status: int) -> None:
            # Logged before the answer goes out, so a client that has its response sees it logged.
            nonlocal recorded
            recorded = True
            self._record(method, path, query, status, started)

        try:
            for hook in self.faults._hooks_snapshot():
                try:
                    hook(path, {k: list(v) for k, v in query.items()})
                except Exception:  # a broken test hook must not take the server down
                    import traceback

                    traceback.print_exc()
            fired = self.faults._select(path)
            kinds = [rule.kind for rule in fired]
            if "reset" in kinds:
                record(0)
                h._reset_connection()
                return
            proxy = next((k for k in kinds if k in ("502_html", "503", "504", "429_retry_after")), None)
            if proxy is not None:  # a reverse proxy answers: Sentry never sees the request
                response = self._fault_response(proxy, path)
            else:
                response = self._dispatch(method, path, pairs, query, h, fired)
            if "invalid_json" in kinds:
                body = response.body[: len(response.body) // 2] if len(response.body) > 1 else b"["
                response = _Response(200, body, "application/json", response.headers)
            record(response.status)
            h._send(response, truncate="truncated" in kinds)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            h.close_connection = True
        finally:
            if not recorded:
                record(0)

    def _fault_response(self, kind: str, path: str) -> _Response:
        if kind == "500":
            return _Response(500, _json({"detail": "Internal Error", "errorId": uuid.uuid4().hex}))
        if kind == "429_retry_after":  # a proxy's own rate limit: Retry-After, no Sentry headers
            return _Response(429, b"Too Many Requests", "text/plain", headers=[("Retry-After", "2")])
        if kind == "429":
            rule = self._rule_for(path)
            now = time.time()
            headers = [
                ("X-Sentry-Rate-Limit-Limit", str(rule.limit)),
                ("X-Sentry-Rate-Limit-Remaining", "0"),
                ("X-Sentry-Rate-Limit-Reset", str(int(math.ceil(now + 1)))),
                ("X-Sentry-Rate-Limit-ConcurrentLimit", str(rule.concurrent_limit)),
                ("X-Sentry-Rate-Limit-ConcurrentRemaining", str(rule.concurrent_limit)),
            ]
            detail = RATE_LIMIT_MESSAGE.format(limit=rule.limit, window=_format_window(rule.window_seconds))
            return _Response(429, _json({"detail": detail}), headers=headers)
        status = {"502_html": 502, "503": 503, "504": 504}[kind]
        title = _PROXY_PAGES[status]
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        )
        return _Response(status, page.encode(), "text/html")

    # ---------------------------------------------------------------- rate limits
    def _rule_for(self, path: str) -> RateLimitRule:
        for rule in list(self.rate_limits):
            if rule.matches(path):
                return rule
        with self._rl_lock:
            rule = self._default_limits.get(path)
            if rule is None:
                rule = self._default_limits[path] = RateLimitRule(re.escape(path), 1000, 1.0, 25)
            return rule

    def _acquire_rate_limit(self, path: str):
        rule = self._rule_for(path)
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
                limited = RATE_LIMIT_MESSAGE.format(limit=rule.limit, window=_format_window(window))
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

    def _release_rate_limit(self, rule: RateLimitRule) -> None:
        with self._rl_lock:
            rule._in_flight = max(0, rule._in_flight - 1)

    # ---------------------------------------------------------------- dispatch
    def _dispatch(self, method: str, path: str, pairs, query, h: "_Handler", fired: Sequence[FaultRule] = ()) -> _Response:
        rule, rl_headers, limited = self._acquire_rate_limit(path)
        try:
            for fault in fired:  # slow requests count as in flight for the concurrency limit
                if fault.kind in ("slow", "latency") and fault.delay > 0:
                    time.sleep(fault.delay)
            kinds = [fault.kind for fault in fired]
            if "429" in kinds:
                return self._fault_response("429", path)
            if limited:
                response = _Response(429, _json({"detail": limited}))
            elif "500" in kinds:
                response = self._fault_response("500", path)
            else:
                if "short_page" in kinds:
                    pairs, query = _shortened_page(pairs, query, self.default_page_size)
                response = self._route(method, path, pairs, query, h)
            response.headers = rl_headers + response.headers
            return response
        finally:
            self._release_rate_limit(rule)

    def _route(self, method: str, path: str, pairs, query, h: "_Handler") -> _Response:
        prefix = self.path_prefix + API_ROOT
        matched = None
        if path.startswith(prefix):
            api_path = path[len(prefix):]
            for pattern, name in _ROUTES:
                m = pattern.match(api_path)
                if m:
                    matched = (name, {k: unquote(v) for k, v in m.groupdict().items()})
                    break
        if matched is None and path == prefix and method in ("GET", "HEAD"):
            return self._index(h)
        if matched is None:
            return self._catchall(path, h)
        name, kwargs = matched
        request = _Request(method, path, path[len(prefix):], pairs, query, h.headers, h.headers.get("Host") or "")
        try:
            self._authenticate(request)
            if method not in ("GET", "HEAD"):
                raise ApiError(405, f'Method "{method}" not allowed.')
            with self._lock:
                org = self._resolve_org(kwargs["org"])
                project = self._resolve_project(kwargs["project"]) if "project" in kwargs else None
                self._check_scope(name)
                handler = getattr(self, "_ep_" + name)
                return handler(request, org=org, project=project, **{k: v for k, v in kwargs.items() if k not in ("org", "project")})
        except ApiError as err:
            content = _json(err.body) if not isinstance(err.body, (bytes, str)) else (
                err.body.encode() if isinstance(err.body, str) else err.body
            )
            return _Response(err.status, content, headers=err.headers)
        except Exception:  # a bug in the emulator: answer like Sentry does
            import traceback

            traceback.print_exc()
            return _Response(500, _json({"detail": "Internal Error", "errorId": uuid.uuid4().hex}))

    def _index(self, h: "_Handler") -> _Response:
        """sentry/api/endpoints/index.py IndexEndpoint: no permission needed; says who is asking."""
        parts = (h.headers.get("Authorization") or "").split()
        known = len(parts) == 2 and parts[0].lower() == "bearer" and parts[1] == self.token
        scopes = self.scopes if self.scopes is not None else {scope for needed in _SCOPES.values() for scope in needed}
        auth = {"scopes": sorted(scopes)} if known else None
        return _Response(200, _json({"version": "0", "auth": auth, "user": None}))

    def _catchall(self, path: str, h: "_Handler") -> _Response:
        """sentry/api/endpoints/catchall.py CatchallEndpoint (no authentication)."""
        if not path.endswith("/"):
            help_text = "Route not found, did you forget a trailing slash?"
            suggestion = f"try: {path}/"
            if (h.headers.get("Content-Type") or "").startswith("application/json"):
                return _Response(404, _json({"info": f"{help_text} {suggestion}"}))
            arrow = " " * (len(suggestion) - 1) + "^"
            return _Response(404, f"{help_text}\n\n{suggestion}\n{arrow}\n".encode(), "text/plain")
        return _Response(404, b"", "text/html; charset=utf-8")

    def _authenticate(self, request: _Request) -> None:
        header = request.headers.get("Authorization") or ""
        parts = header.split()
        challenge = [("WWW-Authenticate", WWW_AUTHENTICATE)]
        if not parts or parts[0].lower() != "bearer":
            raise ApiError(401, DETAIL_NOT_AUTHENTICATED, headers=challenge)
        if len(parts) == 1:
            raise ApiError(401, DETAIL_NO_CREDENTIALS, headers=challenge)
        if len(parts) > 2:
            raise ApiError(401, DETAIL_TOKEN_SPACES, headers=challenge)
        if parts[1] != self.token:
            raise ApiError(401, DETAIL_INVALID_TOKEN, headers=challenge)

    def _check_scope(self, endpoint: str) -> None:
        if self.scopes is None:
            return
        if not any(scope in self.scopes for scope in _SCOPES[endpoint]):
            raise ApiError(403, DETAIL_FORBIDDEN)

    def _resolve_org(self, org: str) -> Record:
        organization = self.dataset.organization
        if org in (str(organization.get("slug")), str(organization.get("id"))):
            return organization
        raise ApiError(404, DETAIL_NOT_FOUND)

    def _resolve_project(self, project: str) -> Record:
        for summary in self.dataset.projects:
            if project == str(summary.get("slug")) or project == str(summary.get("id")):
                return summary
        for slug, detail in self.dataset.project_details.items():
            if project in (slug, str(detail.get("id"))):
                return detail
        raise ApiError(404, DETAIL_NOT_FOUND)

    # ---------------------------------------------------------------- response helpers
    def _link_header(self, request: _Request, prev_cursor: _Cursor, next_cursor: _Cursor) -> str:
        """Endpoint.build_cursor_link: ``<url?other&cursor=c>; rel="previous"; results="false"; cursor="c"``."""
        other = [(k, v) for k, v in request.pairs if k != "cursor"]
        querystring = urlencode(other)
        host = request.host or f"{self.host}:{self.port}"
        base = f"http://{host}{quote(unquote(request.path))}"
        base = f"{base}?{querystring}" if querystring else f"{base}?"
        links = []
        for name, cursor in (("previous", prev_cursor), ("next", next_cursor)):
            text = str(cursor)
            links.append(
                f'<{base}&cursor={text}>; rel="{name}"; results="{"true" if cursor.has_results else "false"}"; cursor="{text}"'
            )
        return ", ".join(links)

    def _paged(self, request: _Request, rows: List[Any], prev_cursor: _Cursor, next_cursor: _Cursor,
               headers: Sequence[Tuple[str, str]] = ()) -> _Response:
        body = _json([_public(row) for row in rows])
        return _Response(200, body, headers=[("Link", self._link_header(request, prev_cursor, next_cursor)), *headers])

    def _per_page(self, request: _Request, default: Optional[int] = None) -> int:
        """clamp_pagination_per_page: 400 outside 1..max(100, default)."""
        default = default or self.default_page_size
        max_per_page = max(MAX_PER_PAGE, default)
        raw = request.get("per_page")
        if raw is None:
            return default
        try:
            per_page = int(raw)
        except ValueError:
            raise ApiError(400, "Invalid per_page parameter.") from None
        if per_page < 1 or per_page > max_per_page:
            raise ApiError(400, f"Invalid per_page value. Must be between 1 and {max_per_page}.")
        return per_page

    def _sorted(self, cache_key: Any, rows: List[Record], key: Callable[[Record], Any]) -> List[Tuple[Any, Record]]:
        """(sort key, record) pairs sorted descending; cached until the dataset changes."""
        full_key = (cache_key, self._version, id(rows), len(rows))
        cached = self._cache.get(full_key)
        if cached is None:
            if len(self._cache) > 512:
                self._cache.clear()
            cached = sorted(((key(r), r) for r in rows), key=lambda kv: kv[0], reverse=True)
            self._cache[full_key] = cached
        return cached

    def _date_range(self, request: _Request, *, optional: bool,
                    default_period: timedelta = MAX_STATS_PERIOD) -> Tuple[Optional[datetime], Optional[datetime]]:
        """sentry/api/utils.py get_date_range_from_params (statsPeriod wins over start/end)."""
        now = self.now()
        start: Optional[datetime] = now - default_period
        end: Optional[datetime] = now
        stats_period = request.get("statsPeriod")
        period_start, period_end = request.get("statsPeriodStart"), request.get("statsPeriodEnd")
        if stats_period is not None:
            delta = parse_stats_period(stats_period)
            if delta is None:
                raise _InvalidParams(f"Invalid statsPeriod: {stats_period!r}")
            try:
                start = now - delta
            except OverflowError:
                raise _InvalidParams(f"Invalid statsPeriod: {stats_period!r}") from None
        elif period_start or period_end:
            if not period_start or not period_end:
                raise _InvalidParams("statsPeriodStart and statsPeriodEnd are both required")
            delta_start, delta_end = parse_stats_period(period_start), parse_stats_period(period_end)
            if delta_start is None:
                raise _InvalidParams(f"Invalid statsPeriod: {period_start!r}")
            if delta_end is None:
                raise _InvalidParams(f"Invalid statsPeriod: {period_end!r}")
            start, end = now - delta_start, now - delta_end
        elif request.get("start") or request.get("end"):
            if not (request.get("start") and request.get("end")):
                raise _InvalidParams("start and end are both required")
            start = parse_datetime_string(request.get("start") or "")
            end = parse_datetime_string(request.get("end") or "")
        elif optional:
            return None, None
        assert start is not None and end is not None
        if start >= end:
            raise _InvalidParams("start must be before end")
        return start, end

    def _project_ids_param(self, request: _Request) -> Optional[List[str]]:
        """The ``project`` query parameter: None for every project, else the ids asked for."""
        raw = [value for value in request.getlist("project") if value != ""]
        if not raw:
            return None
        try:
            ids = {int(value) for value in raw}
        except ValueError:
            raise ApiError(400, "Invalid project parameter. Values must be numbers.") from None
        if -1 in ids:
            return None
        known = {str(p.get("id")) for p in self.dataset.projects}
        if any(str(i) not in known for i in ids):
            raise ApiError(403, DETAIL_FORBIDDEN)
        return sorted(str(i) for i in ids)

    # ---------------------------------------------------------------- endpoints: organization
    def _ep_org_detail(self, request: _Request, org: Record, **_: Any) -> _Response:
        return _Response(200, _json(_public(org)))

    def _ep_org_projects(self, request: _Request, org: Record, **_: Any) -> _Response:
        """OffsetPaginator ordered by (-is_bookmarked, slug)."""
        limit = self._per_page(request)
        cursor = _parse_cursor(request.get("cursor"))
        rows = sorted(self.dataset.projects, key=lambda p: (not p.get("isBookmarked", False), str(p.get("slug"))))
        page, prev_c, next_c = _offset_paginate(rows, limit, cursor)
        return self._paged(request, page, prev_c, next_c)

    def _ep_org_teams(self, request: _Request, org: Record, **_: Any) -> _Response:
        limit = self._per_page(request)
        cursor = _parse_cursor(request.get("cursor"))
        rows = sorted(self.dataset.teams, key=lambda t: str(t.get("slug", t.get("id"))))
        page, prev_c, next_c = _offset_paginate(rows, limit, cursor)
        return self._paged(request, page, prev_c, next_c)

    def _ep_org_members(self, request: _Request, org: Record, **_: Any) -> _Response:
        limit = self._per_page(request)
        cursor = _parse_cursor(request.get("cursor"))
        rows = sorted(self.dataset.members, key=lambda m: _id_key(m.get("id")))
        page, prev_c, next_c = _offset_paginate(rows, limit, cursor)
        return self._paged(request, page, prev_c, next_c)

    def _ep_org_releases(self, request: _Request, org: Record, **_: Any) -> _Response:
        """OffsetPaginator, newest dateCreated first; ``status`` absent/open, archived, or '' (all: Sentry
        filters only ``if status_filter:``, organization_releases.py)."""
        limit = self._per_page(request)
        cursor = _parse_cursor(request.get("cursor"))
        sort = request.get("sort") or "date"
        if sort != "date":
            raise ApiError(400, "invalid sort")
        status_filter = request.get("status", "open")
        if status_filter and status_filter not in ("open", "archived"):
            raise ApiError(400, DETAIL_RELEASE_STATUS)
        try:
            start, end = self._date_range(request, optional=True)
        except _InvalidParams as err:
            raise ApiError(400, f"Invalid date range: {err}") from None
        project_ids = self._project_ids_param(request)
        text = request.get("query")
        ordered = self._sorted(
            "releases", self.dataset.releases,
            lambda r: (_record_time(r, "dateCreated") or 0.0, _id_key(r.get("id"))),
        )
        rows = []
        for (created, _), release in ordered:
            status = release.get("_status") or "open"
            if status_filter and status != status_filter:
                continue
            if start is not None and end is not None and not (start.timestamp() <= created <= end.timestamp()):
                continue
            if text and text.lower() not in str(release.get("version", "")).lower():
                continue
            if project_ids is not None and "projects" in release:
                release_projects = {str(p.get("id")) for p in release.get("projects") or []}
                if not release_projects & set(project_ids):
                    continue
            rows.append(release)
        page, prev_c, next_c = _offset_paginate(rows, limit, cursor)
        return self._paged(request, page, prev_c, next_c)

    def _ep_release_deploys(self, request: _Request, org: Record, version: str, **_: Any) -> _Response:
        if not any(str(r.get("version")) == version for r in self.dataset.releases):
            raise ApiError(404, DETAIL_NOT_FOUND)
        limit = self._per_page(request)
        cursor = _parse_cursor(request.get("cursor"))
        deploys = list(self.dataset.deploys.get(version, []))
        deploys.sort(key=lambda d: (_record_time(d, "dateFinished") or 0.0, _id_key(d.get("id"))), reverse=True)
        page, prev_c, next_c = _offset_paginate(deploys, limit, cursor)
        return self._paged(request, page, prev_c, next_c)

    # ---------------------------------------------------------------- endpoints: project
    def _ep_project_detail(self, request: _Request, org: Record, project: Record, **_: Any) -> _Response:
        detail = self.dataset.project_details.get(str(project.get("slug")), project)
        return _Response(200, _json(_public(detail)))

    def _ep_project_keys(self, request: _Request, org: Record, project: Record, **_: Any) -> _Response:
        """Paginator(order_by="-id", default_per_page=10) over the keys' internal numeric ids."""
        limit = self._per_page(request, default=min(10, self.default_page_size))
        cursor = _parse_cursor(request.get("cursor"))
        keys = list(self.dataset.project_keys.get(str(project.get("slug")), []))
        status = request.get("status")
        if status == "active":
            keys = [k for k in keys if k.get("isActive", True)]
        elif status == "inactive":
            keys = [k for k in keys if not k.get("isActive", True)]
        elif status:
            keys = []
        keyed = []
        for position, key in enumerate(keys, start=1):
            internal = key.get("_id")
            if internal is None:
                internal = int(key["id"]) if str(key.get("id", "")).isdigit() else position
            keyed.append((int(internal), key))
        keyed.sort(key=lambda kv: kv[0], reverse=True)
        page, prev_c, next_c = _value_paginate_desc(keyed, limit, cursor)
        return self._paged(request, page, prev_c, next_c)

    def _ep_project_environments(self, request: _Request, org: Record, project: Record, **_: Any) -> _Response:
        """Not paginated (no Link header), ordered by name; ``visibility`` visible (default)/hidden/all."""
        visibility = request.get("visibility", "visible")
        if visibility not in ("all", "hidden", "visible"):
            raise ApiError(
                400, "Invalid value for 'visibility', valid values are: ['all', 'hidden', 'visible']"
            )
        envs = list(self.dataset.environments.get(str(project.get("slug")), []))
        if visibility == "visible":
            envs = [e for e in envs if not e.get("isHidden", False)]
        elif visibility == "hidden":
            envs = [e for e in envs if e.get("isHidden", False)]
        envs.sort(key=lambda e: str(e.get("name", e.get("id"))))
        return _Response(200, _json(_public(envs)))

    def _ep_project_events(self, request: _Request, org: Record, project: Record, **_: Any) -> _Response:
        """GenericOffsetPaginator over events newest first (timestamp, then event id, descending)."""
        limit = self._per_page(request)
        cursor = _parse_cursor(request.get("cursor"))
        try:
            start, end = self._date_range(request, optional=True)
        except _InvalidParams:
            raise ApiError(400, DETAIL_EVENTS_DATE_RANGE) from None
        full = request.get("full") in ("1", "true")
        slug = str(project.get("slug"))
        ordered = self._sorted(
            ("events", slug), self.dataset.events.get(slug, []),
            lambda e: (math.floor(_record_time(e, "dateCreated") or 0.0), str(e.get("id", ""))),
        )
        lower = start.timestamp() if start is not None else None
        upper = end.timestamp() if end is not None else None
        if self.retention_days is not None:
            retention = (self.now() - timedelta(days=self.retention_days)).timestamp()
            lower = retention if lower is None else max(lower, retention)
        if lower is None and upper is None:
            rows = [event for _, event in ordered]
        else:
            rows = [
                event for (ts, _), event in ordered
                if (lower is None or ts >= lower) and (upper is None or ts < upper)
            ]
        page, prev_c, next_c = _generic_offset_paginate(rows, limit, cursor)
        if not full:
            page = [event_summary(event) for event in page]
        return self._paged(request, page, prev_c, next_c)

    # ---------------------------------------------------------------- endpoints: issues
    def _ep_project_issues(self, request: _Request, org: Record, project: Record, **_: Any) -> _Response:
        stats_period = request.get("statsPeriod")
        if stats_period not in (None, "", "24h", "14d"):
            raise ApiError(400, ERR_PROJECT_ISSUES_STATS_PERIOD)
        stats_period = "24h" if stats_period is None else (stats_period or None)
        issues = list(self.dataset.issues.get(str(project.get("slug")), []))
        response = self._issue_search(request, issues, window=None, stats_period=stats_period)
        org_slug = str(org.get("slug"))
        response.headers += [
            ("X-Sentry-Deprecation-Date", PROJECT_ISSUES_DEPRECATION_DATE),
            ("X-Sentry-Replacement-Endpoint", f"/api/0/organizations/{org_slug}/issues/"),
        ]
        return response

    def _ep_org_issues(self, request: _Request, org: Record, **_: Any) -> _Response:
        try:
            start, end = self._date_range(request, optional=False)
        except _InvalidParams as err:
            raise ApiError(400, str(err)) from None
        stats_period = request.get("groupStatsPeriod")
        if stats_period not in (None, "", "24h", "14d", "auto"):
            raise ApiError(400, ERR_ORG_ISSUES_STATS_PERIOD)
        stats_period = "24h" if stats_period is None else (stats_period or None)
        project_ids = self._project_ids_param(request)
        slugs = [
            str(p.get("slug")) for p in self.dataset.projects
            if project_ids is None or str(p.get("id")) in project_ids
        ]
        issues = [issue for slug in slugs for issue in self.dataset.issues.get(slug, [])]
        return self._issue_search(request, issues, window=(start, end), stats_period=stats_period)

    def _issue_search(self, request: _Request, issues: List[Record], *,
                      window: Optional[Tuple[Optional[datetime], Optional[datetime]]],
                      stats_period: Optional[str]) -> _Response:
        """build_query_params_from_request + the snuba search backend + SequencePaginator."""
        limit_raw = request.get("limit")
        limit = self.default_page_size
        if limit_raw:
            try:
                limit = int(limit_raw)
            except ValueError:
                raise ApiError(400, "invalid limit") from None
        limit = max(1, min(limit, MAX_PER_PAGE))
        cursor = _parse_cursor(request.get("cursor"))
        sort = request.get("sort") or "date"
        score_field = {"date": "lastSeen", "new": "firstSeen", "freq": None}.get(sort, "?")
        if score_field == "?":
            raise ApiError(400, f"Invalid sort: {sort}")
        query = request.get("query", "is:unresolved") if request.has("query") else "is:unresolved"
        filters = self._parse_issue_query((query or "").strip())
        candidates = []
        for issue in issues:
            if window is not None:
                start, end = window
                last_seen = _record_time(issue, "lastSeen")
                first_seen = _record_time(issue, "firstSeen")
                if start is not None and last_seen is not None and last_seen < start.timestamp():
                    continue
                if end is not None and first_seen is not None and first_seen > end.timestamp():
                    continue
            if all(f(issue) for f in filters):
                candidates.append(issue)
        if score_field is None:
            scored = [(int(issue.get("count") or 0), issue) for issue in candidates]
        else:
            scored = [(int(math.floor(_record_time(issue, score_field) or 0.0)) * 1000, issue) for issue in candidates]
        scored.sort(key=lambda kv: (kv[0], _id_key(kv[1].get("id"))), reverse=True)
        page, prev_c, next_c = _sequence_paginate(scored, limit, cursor)
        if stats_period:
            page = [self._with_stats(issue, stats_period) for issue in page]
        hits = min(len(scored), SEARCH_MAX_HITS)
        return self._paged(
            request, page, prev_c, next_c,
            headers=[("X-Hits", str(hits)), ("X-Max-Hits", str(SEARCH_MAX_HITS))],
        )

    def _with_stats(self, issue: Record, period: str) -> Record:
        if isinstance(issue.get("stats"), dict) and period in issue["stats"]:
            return issue
        if period == "14d":
            step, points = 86400, 14
        elif period == "24h":
            step, points = 3600, 24
        else:  # auto: the caller's window is unknown here, fall back to 24h
            step, points = 3600, 24
        now = int(self.now().timestamp()) // step * step
        buckets = [[now - step * i, 0] for i in range(points - 1, -1, -1)]
        return {**issue, "stats": {period: buckets}}

    def _parse_issue_query(self, query: str) -> List[Callable[[Record], bool]]:
        filters: List[Callable[[Record], bool]] = []
        if not query:
            return filters
        for token in query.split():
            negated = token.startswith("!")
            body = token[1:] if negated else token
            key, sep, value = body.partition(":")
            if not sep or not value:
                raise ApiError(
                    400,
                    f'Error parsing search query: unsupported search term "{token}" '
                    "(the emulator supports is:, lastSeen: and firstSeen: filters)",
                )
            if key == "is":
                if value not in IS_VALID_VALUES:
                    raise ApiError(
                        400,
                        f'Error parsing search query: Invalid value for "is" search, valid values are {IS_VALID_VALUES}',
                    )
                if value not in IS_STATUS:
                    raise ApiError(400, f'Error parsing search query: the emulator does not support "is:{value}"')
                wanted = IS_STATUS[value]
                filters.append(
                    (lambda w: (lambda issue: (issue.get("status") or "unresolved") != w))(wanted) if negated
                    else (lambda w: (lambda issue: (issue.get("status") or "unresolved") == w))(wanted)
                )
            elif key in ("lastSeen", "last_seen", "firstSeen", "first_seen", "age"):
                if negated:
                    raise ApiError(400, f'Error parsing search query: negation is not supported for "{key}"')
                field_name = "lastSeen" if key in ("lastSeen", "last_seen") else "firstSeen"
                filters.append(self._date_filter(field_name, value, token))
            else:
                raise ApiError(
                    400,
                    f'Error parsing search query: unsupported search term "{token}" '
                    "(the emulator supports is:, lastSeen: and firstSeen: filters)",
                )
        return filters

    def _date_filter(self, field_name: str, value: str, token: str) -> Callable[[Record], bool]:
        op = ""
        for candidate in (">=", "<=", ">", "<"):
            if value.startswith(candidate):
                op, value = candidate, value[len(candidate):]
                break
        rel = re.match(r"^([+-])(\d+)([mhdw])$", value)
        if rel and not op:
            sign, number, unit = rel.groups()
            delta = timedelta(**{{"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]: int(number)})
            when = (self.now() - delta).timestamp()
            op = ">=" if sign == "-" else "<="
        elif not op:
            if re.match(r"^\d{4}-\d{2}-\d{2}$", value):  # a whole day
                day = parse_datetime_string(value).timestamp()
                return lambda issue: (t := _record_time(issue, field_name)) is not None and day <= math.floor(t) < day + 86400
            raise ApiError(400, f"Error parsing search query: {token} is not a valid datetime query")
        else:
            try:
                when = parse_datetime_string(value).timestamp()
            except _InvalidParams as err:
                raise ApiError(400, f"Error parsing search query: {err}") from None
        compare = {
            ">": lambda t: t > when,
            ">=": lambda t: t >= when,
            "<": lambda t: t < when,
            "<=": lambda t: t <= when,
        }[op]

        def check(issue: Record) -> bool:
            t = _record_time(issue, field_name)
            return t is not None and compare(math.floor(t))

        return check

    # ---------------------------------------------------------------- endpoints: stats_v2
    def _ep_org_stats_v2(self, request: _Request, org: Record, **_: Any) -> _Response:
        """sentry/snuba/outcomes.py QueryDefinition + sessions_v2.massage_sessions_result."""
        fields = request.getlist("field")
        groupby = request.getlist("groupBy")
        if not fields:
            raise ApiError(400, 'At least one "field" is required.')
        # get_constrained_date_range
        interval_td = parse_stats_period(request.get("interval", "1h") or "")
        interval = 3600 if interval_td is None else int(interval_td.total_seconds())
        if interval % 3600 != 0 or interval < 3600:
            raise ApiError(400, "The interval has to be a multiple of the minimum interval of one hour.")
        if interval > 86400:
            raise ApiError(400, "The interval has to be less than one day.")
        if 86400 % interval != 0:
            raise ApiError(400, "The interval should divide one day without a remainder.")
        try:
            start, end = self._date_range(request, optional=False)
        except _InvalidParams as err:
            raise ApiError(400, str(err)) from None
        assert start is not None and end is not None
        now = self.now()
        if start > now:
            start = now
        start_ts = math.floor(start.timestamp() / interval) * interval
        end_ts = math.ceil(end.timestamp() / interval) * interval
        if (end_ts - start_ts) / interval > STATS_MAX_POINTS:
            raise ApiError(
                400,
                "Your interval and date range would create too many results. "
                "Use a larger interval, or a smaller date range.",
            )
        for key in fields:
            if key not in STATS_FIELDS:
                raise ApiError(400, f'Invalid field: "{key}"')
        for key in groupby:
            if key not in STATS_GROUPBY:
                raise ApiError(400, f'Invalid groupBy: "{key}"')
        categories = request.getlist("category")
        if not categories and "category" not in groupby:
            raise ApiError(400, "Query must have category as groupby or filter")
        wanted_categories = set()
        for category in categories:
            if category not in CATEGORIES:
                raise ApiError(400, f'Invalid category: "{category}"')
            wanted_categories |= ERROR_CATEGORIES if category == "error" else {category}
        if "attachment" in wanted_categories and len(wanted_categories) > 1:
            raise ApiError(400, "if filtering by attachment no other category may be present")
        outcomes = request.getlist("outcome")
        for outcome in outcomes:
            if outcome not in OUTCOMES:
                raise ApiError(400, f'Invalid outcome: "{outcome}"')
        reasons = {"smart_rate_limit" if r == "spike_protection" else r for r in request.getlist("reason")}
        project_ids = self._project_ids_param(request)

        intervals = list(range(int(start_ts), int(end_ts), interval))
        totals: Dict[Tuple, Dict[str, int]] = {}
        series: Dict[Tuple, Dict[str, List[int]]] = {}
        for row in self.dataset.usage:
            ts = _record_time(row, "date") if "date" in row else _record_time(row, "timestamp")
            if ts is None or not (start_ts <= ts < end_ts):
                continue
            category = str(row.get("category", "error"))
            if wanted_categories and category not in wanted_categories:
                continue
            outcome = str(row.get("outcome", "accepted"))
            if outcomes and outcome not in outcomes:
                continue
            reason = row.get("reason")
            if reasons and reason not in reasons:
                continue
            project_id = row.get("project_id")
            if project_ids is not None and str(project_id) not in project_ids:
                continue
            by: Dict[str, Any] = {}
            for key in groupby:
                if key == "category":
                    by["category"] = "error" if category in ERROR_CATEGORIES else category
                elif key == "outcome":
                    by["outcome"] = outcome
                elif key == "reason":
                    by["reason"] = "spike_protection" if reason == "smart_rate_limit" else (reason or "none")
                elif key == "project":
                    by["project"] = int(project_id) if str(project_id).isdigit() else project_id
                elif key == "key_id":
                    by["key_id"] = row.get("key_id")
            group_key = tuple(sorted(by.items(), key=lambda kv: kv[0]))
            quantity = int(row.get("quantity") or 0)
            times_seen = int(row.get("times_seen", quantity) or 0)
            values = {"sum(quantity)": quantity, "sum(times_seen)": times_seen}
            group_totals = totals.setdefault(group_key, {f: 0 for f in fields})
            group_series = series.setdefault(group_key, {f: [0] * len(intervals) for f in fields})
            index = int((ts - start_ts) // interval)
            for f in fields:
                group_totals[f] += values[f]
                group_series[f][index] += values[f]
        with_series = "project" not in groupby
        groups = []
        for group_key in sorted(totals, key=lambda k: [(name, str(v)) for name, v in k]):
            group: Dict[str, Any] = {"by": dict(group_key), "totals": totals[group_key]}
            if with_series:
                group["series"] = series[group_key]
            groups.append(group)
        result: Dict[str, Any] = {"start": _isoformat_z(start_ts), "end": _isoformat_z(end_ts)}
        if with_series:
            result["intervals"] = [_isoformat_z(ts) for ts in intervals]
        result["groups"] = groups
        return _Response(200, _json(result))


# --------------------------------------------------------------------------------------------
# HTTP server glue
# --------------------------------------------------------------------------------------------
class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet on client disconnects
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, socket.timeout, OSError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    emulator: SentryEmulator
    protocol_version = "HTTP/1.1"
    server_version = "nginx"
    sys_version = ""
    timeout = 60

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr access log
        pass

    def _handle_any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.emulator._serve(self)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle_any

    def _send(self, response: _Response, *, truncate: bool = False) -> None:
        body = response.body
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        if truncate:  # promise more bytes than are sent, then close the connection cleanly
            self.send_header("Content-Length", str(len(body) + max(64, len(body))))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _reset_connection(self) -> None:
        """Close the socket with an RST (SO_LINGER 0) so the client sees a reset, not a clean EOF."""
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass


def _shortened_page(pairs, query, default_page_size: int):
    """A page shorter than asked for that still has more after it, as Sentry's issue endpoints
    answer when they drop entries after querying. Nothing is lost: the cursor moves by what was served."""
    key = "limit" if "limit" in query else "per_page"
    asked = int(query.get(key, [default_page_size])[0])
    short = str(max(1, asked // 3))
    pairs = [(k, v) for k, v in pairs if k != key] + [(key, short)]
    query = {**query, key: [short]}
    return pairs, query

"""SentryEmulator: the server's lifecycle, its request log, dataset changes, and the path of one
request (faults, rate limits, authentication, scopes, then the endpoint the route table names)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import parse_qsl, urlsplit

from ..dataset import Dataset, Record, format_datetime
from .access import Access, TokenUser
from .auth import authenticate, check_scope
from .endpoints.issue_stats import IssueTimeline, timeline_of
from .endpoints.index import api_index, catchall
from .errors import DETAIL_FORBIDDEN, DETAIL_NOT_FOUND, ApiError
from .faults import PROXY_KINDS, FaultInjector, FaultRule, fault_response, reset_connection, send_truncated, shortened_page
from .plumbing import Handler, Request, Response, Server, internal_error, json_body
from .rate_limits import RATE_LIMIT_BODIES, RateLimiter, RateLimitRule, rate_limited
from .records import UTC, record_time
from .routes import API_ROOT, match_route
from .versions import SentryBehaviour


@dataclass(frozen=True)
class RequestRecord:
    """One request the emulator received (faulted and rate-limited ones included)."""

    method: str
    path: str  # request path without the query string (path_prefix included)
    query: Dict[str, List[str]]
    status: int  # 0 when the connection was reset without a response
    time: float  # epoch seconds when the request arrived
    fault: str = ""  # the injected fault kinds, "+"-joined; "" for a request served as is


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
        explore_offset_cap: Optional[int] = 10_000,
        explore_normal_sampling_limit: Optional[int] = None,
        explore_full_fidelity_days: int = 30,
        user: Optional[TokenUser] = None,
        sentry_version: Optional[str] = None,
        issue_search_max_age: Optional[timedelta] = timedelta(days=90),
        self_hosted: bool = False,
        rate_limit_body: str = "detail",
    ) -> None:
        """``user``: whose token it is (teams, role, Open Membership; default: Sentry's defaults,
        see access.py). ``sentry_version``: answer like that self-hosted version where behaviours
        the connector depends on changed (see versions.py; None: current Sentry).
        ``issue_search_max_age``: how far back the organization issue search looks whatever the
        window (Sentry: 90 days); None for a dataset dated in the past.
        ``self_hosted``: like a Sentry with SENTRY_SELF_HOSTED, which never rate-limits: no
        X-Sentry-Rate-Limit-* headers, ``rate_limits`` ignored, the "429" fault refused (only a
        proxy's 429 can happen). ``rate_limit_body``: the shape of Sentry's own 429 body, "detail"
        (current, ``{"detail": "..."}``) or "string" (older versions, a bare JSON string).
        Both as src/sentry/middleware/ratelimit.py: see rate_limits.py."""
        if rate_limit_body not in RATE_LIMIT_BODIES:
            raise ValueError(f"rate_limit_body must be one of {RATE_LIMIT_BODIES}, not {rate_limit_body!r}")
        self.dataset = dataset
        self.token = token
        self.scopes: Optional[set] = set(scopes) if scopes is not None else None
        self.host = host
        self.port = port
        self.path_prefix = "/" + path_prefix.strip("/") if path_prefix.strip("/") else ""
        self.default_page_size = default_page_size
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(UTC))
        self.retention_days = retention_days
        # GET /organizations/{org}/events/ (endpoints/explore.py): rows past this offset are never
        # served (None: no cap); NORMAL sampling answers from half of the rows above this many; spans
        # older than this many days are only in the downsampled tier, logs gone.
        self.explore_offset_cap = explore_offset_cap
        self.explore_normal_sampling_limit = explore_normal_sampling_limit
        self.explore_full_fidelity_days = explore_full_fidelity_days
        self.explore_cache: Dict[Any, Any] = {}  # the errors dataset's rows, derived from the events
        self.explore_results: Dict[Any, Any] = {}  # a query's whole result, by its parameters (endpoints/explore.py)
        self.user = user or TokenUser()
        self.issue_search_max_age = issue_search_max_age
        self.behaviour = SentryBehaviour.of(sentry_version)
        self.self_hosted = self_hosted
        self.rate_limit_body = rate_limit_body
        self.faults = FaultInjector()
        if self_hosted:
            self.faults.refused_kinds["429"] = (
                "a self-hosted Sentry never rate-limits (ratelimit.py: `if settings.SENTRY_SELF_HOSTED: return None`); "
                "use a proxy's 429 (429_proxy, 429_retry_after)"
            )
        self.rate_limits: List[RateLimitRule] = []
        self._limiter = RateLimiter()
        self._lock = threading.RLock()  # dataset, caches
        self._log_lock = threading.Lock()
        self._log: List[RequestRecord] = []
        self._cache: Dict[Any, Any] = {}  # sorted_rows()
        self._version = 0
        self._server: Optional[Server] = None
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
        handler = type("_BoundHandler", (Handler,), {"emulator": self})
        server = Server((self.host, self.port), handler)
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

    @property
    def dataset_version(self) -> int:
        """Changes whenever the dataset does (add_*, update_issue, invalidate_cache)."""
        return self._version

    # ---------------------------------------------------------------- dataset mutation
    def invalidate_cache(self) -> None:
        """Call after mutating records of ``dataset`` in place without the add_/update_ methods."""
        with self._lock:
            self._version += 1
            self._cache.clear()
            self.explore_cache.clear()
            self.explore_results.clear()

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
        issue_id = record.get("groupID")
        when = record_time(record, "dateCreated")
        if issue_id is not None and when is not None and any(
                str(i.get("id")) == str(issue_id) for i in self.dataset.issues.get(project["slug"], [])):
            user = record.get("user") or {}
            self.add_issue_event(issue_id, datetime.fromtimestamp(when, UTC), user.get("id") and f"id:{user['id']}")
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

    def add_explore_rows(self, dataset: str, rows: Iterable[Record]) -> None:
        """Insert rows into an Explore dataset ("spans", "logs", "transactions"), kept oldest first."""
        with self._lock:
            listing = self.dataset.explore.setdefault(dataset, [])
            listing.extend(rows)
            listing.sort(key=lambda row: (row["_ts"], row["id"]))
            self.invalidate_cache()

    def set_feature(self, feature: str, enabled: bool) -> None:
        """Turn an organization feature (e.g. "global-views") on or off."""
        with self._lock:
            features = [f for f in self.dataset.organization.get("features") or [] if f != feature]
            self.dataset.organization["features"] = features + ([feature] if enabled else [])

    def update_issue(self, issue_id: Any, **fields: Any) -> Record:
        """Sets fields of an issue record. An issue with an event timeline (``_events``) is seen
        again through add_issue_event: its seen stats come from its events."""
        with self._lock:
            issue = self._issue(issue_id)
            seen = {"count", "userCount", "firstSeen", "lastSeen"} & set(fields)
            if seen and "_events" in issue:
                raise ValueError(f"issue {issue_id} has an event timeline: use add_issue_event, not {sorted(seen)}")
            issue.update(fields)
            self.invalidate_cache()
            return issue

    def sorted_rows(self, cache_key: Any, rows: List[Record], key: Callable[[Record], Any]) -> List[Tuple[Any, Record]]:
        """(sort key, record) pairs sorted descending; cached until the dataset changes."""
        full_key = (cache_key, self._version, id(rows), len(rows))
        cached = self._cache.get(full_key)
        if cached is None:
            if len(self._cache) > 512:
                self._cache.clear()
            cached = sorted(((key(r), r) for r in rows), key=lambda kv: kv[0], reverse=True)
            self._cache[full_key] = cached
        return cached

    def access(self) -> Access:
        """The token's access to the dataset's projects (computed per request: teams can change)."""
        return Access(self.user, self.dataset)

    def retention_start(self) -> Optional[float]:
        """Epoch seconds of the oldest retained event, or None without a retention limit."""
        if self.retention_days is None:
            return None
        return (self.now() - timedelta(days=self.retention_days)).timestamp()

    def issue_timeline(self, issue: Record) -> IssueTimeline:
        """The issue's event timeline (see endpoints/issue_stats.py); cached until the dataset changes."""
        key = ("timeline", id(issue), self._version)
        cached = self._cache.get(key)
        if cached is None or cached.issue is not issue:
            if len(self._cache) > 4096:
                self._cache.clear()
            cached = self._cache[key] = IssueTimeline(issue)
        return cached

    def add_issue_event(self, issue_id: Any, when: datetime, user: Optional[str] = None) -> Record:
        """The issue is seen again: one more event at ``when`` (whole seconds) by ``user``. Its
        timeline grows, and so do the Group row's times_seen (``count``) and last_seen."""
        with self._lock:
            issue = self._issue(issue_id)
            events = [list(event) for event in timeline_of(issue)]
            second = int(when.timestamp())
            events.append([second, user])
            events.sort(key=lambda event: event[0])
            issue["_events"] = events
            issue["count"] = str(int(issue.get("count") or 0) + 1)
            issue["userCount"] = len({u for _, u in events if u is not None})
            moment = datetime.fromtimestamp(second, UTC)
            last = record_time(issue, "lastSeen")
            if last is None or second > last:
                issue["lastSeen"] = format_datetime(moment)
            first = record_time(issue, "firstSeen")
            if first is None or second < first:
                issue["firstSeen"] = format_datetime(moment)
            self.invalidate_cache()
            return issue

    def add_deploy(self, version: str, record: Record, projects: Optional[Iterable[str]] = None) -> Record:
        """A new deploy of a release (create_deploy): counted in ``deployCount``, the release's
        ``lastDeploy``, and the one listed for each (project, environment) it targets (the
        release's projects unless ``projects`` names some)."""
        with self._lock:
            release = next(r for r in self.dataset.releases if str(r.get("version")) == version)
            if projects is not None:
                record["_projects"] = list(projects)
            self.dataset.deploys.setdefault(version, []).append(record)
            release["deployCount"] = int(release.get("deployCount") or 0) + 1
            release["lastDeploy"] = {k: v for k, v in record.items() if not k.startswith("_")}
            self.invalidate_cache()
            return record

    def _issue(self, issue_id: Any) -> Record:
        for issues in self.dataset.issues.values():
            for issue in issues:
                if str(issue.get("id")) == str(issue_id):
                    return issue
        raise KeyError(f"unknown issue {issue_id!r}")

    # ---------------------------------------------------------------- request handling
    def _record(self, method: str, path: str, query: Dict[str, List[str]], status: int, started: float, fault: str) -> None:
        with self._log_lock:
            self._log.append(RequestRecord(method, path, query, status, started, fault))

    def handle(self, h: Handler) -> None:
        """Answer one HTTP request (Handler calls this for every method)."""
        started = time.time()
        split = urlsplit(h.path)
        path = split.path
        pairs = parse_qsl(split.query, keep_blank_values=True)
        query: Dict[str, List[str]] = {}
        for key, value in pairs:
            query.setdefault(key, []).append(value)
        method = h.command
        recorded = False
        kinds: List[str] = []

        def record(status: int) -> None:
            # Logged before the answer goes out, so a client that has its response sees it logged.
            nonlocal recorded
            recorded = True
            # "slow" and "latency" only delay a normal answer; "short_page" answers normally too
            fault = "+".join(k for k in kinds if k not in ("slow", "latency", "short_page"))
            self._record(method, path, query, status, started, fault)

        try:
            for hook in self.faults.hooks():
                try:
                    hook(path, {k: list(v) for k, v in query.items()})
                except Exception:  # a broken test hook must not take the server down
                    import traceback

                    traceback.print_exc()
            fired = self.faults.select(path, query)
            kinds = [rule.kind for rule in fired]
            if "reset" in kinds:
                record(0)
                reset_connection(h)
                return
            proxy = next((rule for rule in fired if rule.kind in PROXY_KINDS), None)
            if proxy is not None:  # a reverse proxy answers: Sentry never sees the request
                response = fault_response(proxy)
            else:
                response = self._dispatch(method, path, pairs, query, h, fired)
            if "invalid_json" in kinds:
                body = response.body[: len(response.body) // 2] if len(response.body) > 1 else b"["
                response = Response(200, body, "application/json", response.headers)
            record(response.status)
            if "truncated" in kinds:
                send_truncated(h, response)
            else:
                h.send(response)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            h.close_connection = True
        finally:
            if not recorded:
                record(0)

    # ---------------------------------------------------------------- dispatch
    def _dispatch(self, method: str, path: str, pairs, query, h: Handler, fired: Sequence[FaultRule] = ()) -> Response:
        if self.self_hosted:  # ratelimit.py process_view returns before any limit or header
            rule, rl_headers, limited = None, [], None
        else:
            rule, rl_headers, limited = self._limiter.acquire(path, self.rate_limits)
        try:
            for fault in fired:  # slow requests count as in flight for the concurrency limit
                if fault.kind in ("slow", "latency") and fault.delay > 0:
                    time.sleep(fault.delay)
            by_kind = {fault.kind: fault for fault in fired}
            if "429" in by_kind:
                fault = by_kind["429"]
                return fault_response(fault, self._limiter.rule_for(path, self.rate_limits), fault.rate_limit_body or self.rate_limit_body)
            if limited:
                response = rate_limited(limited, self.rate_limit_body, [])
            elif "500" in by_kind:
                response = fault_response(by_kind["500"])
            else:
                if "short_page" in by_kind:
                    pairs, query = shortened_page(pairs, query, self.default_page_size)
                response = self._route(method, path, pairs, query, h)
            response.headers = rl_headers + response.headers
            return response
        finally:
            if rule is not None:
                self._limiter.release(rule)

    def _route(self, method: str, path: str, pairs, query, h: Handler) -> Response:
        prefix = self.path_prefix + API_ROOT
        matched = match_route(path[len(prefix):]) if path.startswith(prefix) else None
        if matched is None and path == prefix and method in ("GET", "HEAD"):
            return api_index(h.headers, self.token, self.scopes)
        if matched is None:
            return catchall(path, h.headers)
        route, kwargs = matched
        host = h.headers.get("Host") or f"{self.host}:{self.port}"
        request = Request(method, path, path[len(prefix):], pairs, query, h.headers, host)
        try:
            authenticate(request.headers, self.token)
            if method not in ("GET", "HEAD"):
                raise ApiError(405, f'Method "{method}" not allowed.')
            with self._lock:
                org = self._resolve_org(kwargs["org"])
                project = self._resolve_project(kwargs["project"]) if "project" in kwargs else None
                check_scope(self.scopes, route.scopes)
                # src/sentry/api/bases/project.py ProjectPermission.has_object_permission: a project
                # the user can neither access nor hold a team scope on answers 403.
                if project is not None and not self.access().has_access(project):
                    raise ApiError(403, DETAIL_FORBIDDEN)
                return route.handler(self, request, org=org, project=project,
                                     **{k: v for k, v in kwargs.items() if k not in ("org", "project")})
        except ApiError as err:
            content = json_body(err.body) if not isinstance(err.body, (bytes, str)) else (
                err.body.encode() if isinstance(err.body, str) else err.body
            )
            return Response(err.status, content, headers=err.headers)
        except Exception:  # a bug in the emulator: answer like Sentry does
            import traceback

            traceback.print_exc()
            return internal_error()

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

"""SentryEmulator: the server's lifecycle, its request log, dataset changes, and the path of one
request (faults, rate limits, authentication, scopes, then the endpoint the route table names)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import parse_qsl, urlsplit

from ..dataset import Dataset, Record
from .auth import authenticate, check_scope
from .endpoints.index import api_index, catchall
from .errors import DETAIL_NOT_FOUND, ApiError
from .faults import PROXY_KINDS, FaultInjector, FaultRule, fault_response, reset_connection, send_truncated, shortened_page
from .plumbing import Handler, Request, Response, Server, internal_error, json_body
from .rate_limits import RATE_LIMIT_BODIES, RateLimiter, RateLimitRule, rate_limited
from .records import UTC
from .routes import API_ROOT, match_route


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
        self_hosted: bool = False,
        rate_limit_body: str = "detail",
    ) -> None:
        """``self_hosted``: like a Sentry with SENTRY_SELF_HOSTED, which never rate-limits: no
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
            fired = self.faults.select(path)
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
                return fault_response(by_kind["429"], self._limiter.rule_for(path, self.rate_limits), self.rate_limit_body)
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

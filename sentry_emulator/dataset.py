"""The emulator's ground truth: every record the emulated Sentry organization holds.

Records are shaped exactly like the real API's JSON responses. Keys starting with "_" are private
to the emulator (used for server-side filtering) and are stripped before a record is served.

Shapes follow Sentry's own serializers (getsentry/sentry, src/sentry/api/serializers/models/):
  projects         ProjectSummarySerializer       (GET /organizations/{org}/projects/)
  project_details  DetailedProjectSerializer      (GET /projects/{org}/{project}/)
  events           EventSerializer                (GET /projects/{org}/{project}/events/?full=true)
                   SimpleEventSerializer          (same endpoint without full=true: event_summary())
  issues           StreamGroupSerializerSnuba     (GET /organizations/{org}/issues/, groupStatsPeriod 24h)
  releases         ReleaseSerializer              (GET /organizations/{org}/releases/)
  teams            TeamSerializer, detailed=1     (GET /organizations/{org}/teams/: projects + externalTeams)
  members          OrganizationMemberSerializer   (GET /organizations/{org}/members/)
  project_keys     ProjectKeySerializer           (GET /projects/{org}/{project}/keys/)
  environments     EnvironmentProjectSerializer   (GET /projects/{org}/{project}/environments/)
  deploys          DeploySerializer               (GET /organizations/{org}/releases/{version}/deploys/)
  usage            raw outcome rows the server aggregates into the stats_v2 response

Datetimes are rendered the way Sentry's API (Django REST framework) renders them: ISO 8601 in UTC
with a "Z", and with six fractional digits only when the value has a sub-second part
("2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123456Z", "2024-05-01T12:00:00.123000Z").
"""
from __future__ import annotations

import gc
import hashlib
import itertools
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple

Record = Dict[str, Any]


@dataclass
class Dataset:
    organization: Record                      # organization detail: id, slug, name, ...
    projects: List[Record]                    # GET /organizations/{org}/projects/ items (summary shape)
    project_details: Dict[str, Record]        # project slug -> GET /projects/{org}/{slug}/ body
    events: Dict[str, List[Record]]           # project slug -> full events (full=true shape)
    issues: Dict[str, List[Record]]           # project slug -> issues (group serializer shape)
    releases: List[Record]                    # org releases; "_status": "open" | "archived"
    teams: List[Record] = field(default_factory=list)
    members: List[Record] = field(default_factory=list)
    project_keys: Dict[str, List[Record]] = field(default_factory=dict)   # project slug -> keys
    environments: Dict[str, List[Record]] = field(default_factory=dict)   # project slug -> environments
    deploys: Dict[str, List[Record]] = field(default_factory=dict)        # release version -> deploys
    usage: List[Record] = field(default_factory=list)  # raw outcome rows, see build_dataset


# Keys of GET /projects/{org}/{project}/events/ items WITHOUT full=true (SimpleEventSerializer).
# "event.type" is the only one a full event does not carry: it is the full event's "type".
EVENT_SUMMARY_FIELDS: Tuple[str, ...] = (
    "id",
    "event.type",
    "groupID",
    "eventID",
    "projectID",
    "message",
    "title",
    "location",
    "culprit",
    "user",
    "tags",
    "platform",
    "dateCreated",
    "crashFile",
    "metadata",
)

EVENT_WINDOW = timedelta(days=80)      # events and issues are spread over this
LONG_WINDOW = timedelta(days=730)      # projects and releases
USAGE_DAYS = 30

STATUS_UNRESOLVED, STATUS_RESOLVED, STATUS_IGNORED = "unresolved", "resolved", "ignored"

_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"   # sentry.utils.strings.base32_encode (short ids)
_GROUPING_CONFIG = "newstyle:2023-01-11"
_LEGACY_GROUPING_CONFIG = "legacy:2019-03-12"
_ENHANCEMENTS = "KLUv_SAYwQAAkwKRs25ld3N0eWxlOjIwMjMtMDEtMTGQ"


# --------------------------------------------------------------------------------------------
# formatting helpers
# --------------------------------------------------------------------------------------------

def format_datetime(dt: Optional[datetime]) -> Optional[str]:
    """Render a datetime like Sentry's API does (DRF): microseconds only when non-zero."""
    if dt is None:
        return None
    dt = dt.astimezone(timezone.utc)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


_DAY_PREFIX: Dict[int, str] = {}
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _fmt_ts(ts: int, micro: int = 0) -> str:
    """format_datetime() for an epoch-seconds integer (fast path used for bulk events)."""
    day, rem = divmod(ts, 86400)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
        _DAY_PREFIX[day] = prefix
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if micro:
        return "%s%02d:%02d:%02d.%06dZ" % (prefix, h, m, sec, micro)
    return "%s%02d:%02d:%02dZ" % (prefix, h, m, sec)


def parse_datetime(value: str) -> datetime:
    """Parse any Sentry datetime rendering ("...Z", with or without fractional seconds)."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def event_summary(event: Record) -> Record:
    """The record the events endpoint serves without full=true, derived from a full event."""
    out: Record = {}
    for key in EVENT_SUMMARY_FIELDS:
        out[key] = event.get("type") if key == "event.type" else event.get(key)
    return out


def _base32(n: int) -> str:
    s = ""
    while True:
        n, r = divmod(n, 32)
        s = _BASE32[r] + s
        if n == 0:
            return s


def _base32_decode(s: str) -> int:
    n = 0
    for ch in s:
        n = n * 32 + _BASE32.index(ch)
    return n


def _hex(rng: random.Random, bits: int = 128) -> str:
    return "%0*x" % (bits // 4, rng.getrandbits(bits))


def _seeded(*parts: Any) -> random.Random:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


# --------------------------------------------------------------------------------------------
# static catalogues (realistic values)
# --------------------------------------------------------------------------------------------

# slug, name, project platform, event platform, platforms, team slug, sdk name, sdk version
_PROJECT_PROFILES = [
    ("web", "Web", "javascript-react", "javascript", ["javascript"], "frontend",
     "sentry.javascript.react", "8.42.0"),
    ("api", "API", "python-django", "python", ["python"], "backend",
     "sentry.python.django", "2.19.2"),
    ("worker", "Worker", "python-celery", "python", ["python", "other"], "backend",
     "sentry.python.celery", "2.19.2"),
]
_EXTRA_PROFILES = [
    ("node-express", "node", ["node"], "platform", "sentry.javascript.node", "8.42.0"),
    ("go", "go", ["go"], "platform", "sentry.go", "0.30.0"),
    ("java-spring-boot", "java", ["java"], "platform", "sentry.java.spring-boot.jakarta", "7.18.1"),
    ("ruby-rails", "ruby", ["ruby"], "platform", "sentry.ruby.rails", "5.22.1"),
]
_SDK_NORMALIZED = {
    "javascript": "sentry.javascript.react", "python": "sentry.python", "node": "sentry.javascript.node",
    "go": "sentry.go", "java": "sentry.java", "ruby": "sentry.ruby",
}

# (exception type, value, filename, function, module, mechanism)
_ERRORS: Dict[str, List[Tuple[str, str, str, str, Optional[str], str]]] = {
    "javascript": [
        ("TypeError", "Cannot read properties of undefined (reading 'map')",
         "./src/components/OrderList.tsx", "OrderList", None, "onerror"),
        ("ChunkLoadError", "Loading chunk 712 failed.\n(error: https://app.acme.io/static/js/712.4f2a1c.chunk.js)",
         "./src/bootstrap.ts", "loadChunk", None, "onunhandledrejection"),
        ("ReferenceError", "gtag is not defined", "./src/analytics/index.ts", "trackPageView", None, "onerror"),
        ("AxiosError", "Request failed with status code 502", "./src/api/client.ts", "request", None,
         "onunhandledrejection"),
        ("SyntaxError", "Unexpected token '<', \"<!DOCTYPE \"... is not valid JSON", "./src/api/client.ts",
         "parseResponse", None, "generic"),
        ("TypeError", "Failed to fetch", "./src/api/client.ts", "fetchWithRetry", None, "onunhandledrejection"),
        ("RangeError", "Maximum call stack size exceeded", "./src/utils/tree.ts", "walk", None, "onerror"),
        ("Error", "Minified React error #418; visit https://react.dev/errors/418 for the full message",
         "./node_modules/react-dom/cjs/react-dom.production.min.js", "hydrateRoot", None, "onerror"),
    ],
    "python": [
        ("KeyError", "'customer_id'", "api/views/orders.py", "create_order", "api.views.orders", "django"),
        ("ValueError", "invalid literal for int() with base 10: 'abc'", "api/serializers/cart.py",
         "validate_quantity", "api.serializers.cart", "django"),
        ("OperationalError", "could not connect to server: Connection refused",
         "django/db/backends/postgresql/base.py", "get_new_connection", "django.db.backends.postgresql.base",
         "django"),
        ("ReadTimeout", "HTTPSConnectionPool(host='api.stripe.com', port=443): Read timed out. (read timeout=10)",
         "billing/clients/stripe.py", "charge", "billing.clients.stripe", "generic"),
        ("AttributeError", "'NoneType' object has no attribute 'email'", "accounts/tasks.py",
         "send_welcome_email", "accounts.tasks", "celery"),
        ("IntegrityError", "duplicate key value violates unique constraint \"orders_order_number_key\"",
         "orders/models.py", "save", "orders.models", "django"),
        ("ZeroDivisionError", "division by zero", "reports/metrics.py", "conversion_rate", "reports.metrics",
         "celery"),
        ("SoftTimeLimitExceeded", "SoftTimeLimitExceeded()", "exports/tasks.py", "export_csv",
         "exports.tasks", "celery"),
        ("ConnectionError", "Error 111 connecting to redis:6379. Connection refused.",
         "redis/connection.py", "connect", "redis.connection", "celery"),
    ],
    "node": [
        ("TypeError", "Cannot destructure property 'id' of 'req.user' as it is undefined.",
         "/app/src/routes/orders.js", "createOrder", "routes:orders", "onunhandledrejection"),
        ("Error", "connect ECONNREFUSED 10.0.3.12:5432", "/app/node_modules/pg/lib/client.js", "connect",
         "pg.lib:client", "onunhandledrejection"),
        ("MongoServerError", "E11000 duplicate key error collection: shop.carts index: user_1",
         "/app/src/models/cart.js", "save", "models:cart", "generic"),
    ],
    "go": [
        ("*errors.errorString", "context deadline exceeded", "internal/payments/client.go", "Charge",
         "github.com/acme/svc/internal/payments", "generic"),
        ("runtime.Error", "invalid memory address or nil pointer dereference", "internal/handlers/orders.go",
         "(*Handler).Get", "github.com/acme/svc/internal/handlers", "panic"),
    ],
    "java": [
        ("NullPointerException", "Cannot invoke \"String.length()\" because \"name\" is null",
         "OrderService.java", "createOrder", "com.acme.orders.OrderService", "UncaughtExceptionHandler"),
        ("DataIntegrityViolationException", "could not execute statement; constraint [uk_orders_number]",
         "OrderRepository.java", "save", "com.acme.orders.OrderRepository", "generic"),
    ],
    "ruby": [
        ("NoMethodError", "undefined method `email' for nil:NilClass", "app/models/user.rb", "notify",
         "User", "rails"),
        ("ActiveRecord::RecordNotFound", "Couldn't find Order with 'id'=9921", "app/controllers/orders_controller.rb",
         "show", "OrdersController", "rails"),
    ],
}
_MESSAGES = [
    ("Payment provider returned unexpected status 500", "warning"),
    ("Slow database query detected on orders list", "info"),
    ("Webhook signature verification failed", "error"),
    ("Cache miss ratio above threshold", "warning"),
    ("User exceeded export rate limit", "info"),
]
_TRANSACTIONS = {
    "javascript": ["/checkout", "/orders", "/orders/:id", "/settings/profile", "/cart", "/"],
    "python": ["/api/orders/", "/api/orders/{order_id}/", "/api/cart/", "/api/auth/login/", "/api/reports/"],
    "node": ["POST /orders", "GET /orders/:id", "GET /cart"],
    "go": ["GET /v1/orders/{id}", "POST /v1/payments"],
    "java": ["POST /api/orders", "GET /api/orders/{id}"],
    "ruby": ["OrdersController#show", "UsersController#update"],
}
_WORKER_TASKS = ["accounts.tasks.send_welcome_email", "exports.tasks.export_csv", "reports.tasks.nightly_rollup",
                 "billing.tasks.sync_invoices"]
_ENVIRONMENTS = [("production", False), ("staging", False), ("development", False), ("local", True)]
_FIRST_NAMES = ["Alice", "Bob", "Carla", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kira",
                "Liam", "Maya", "Noah", "Olga", "Pablo"]
_LAST_NAMES = ["Smith", "Nguyen", "Garcia", "Müller", "Kowalski", "Okafor", "Rossi", "Tanaka", "Dubois",
               "Silva", "Johansson", "Patel"]
_COMMIT_MESSAGES = ["fix(checkout): handle empty cart", "feat(orders): add bulk export", "chore: bump sentry-sdk",
                    "fix(api): retry stripe timeouts", "ref(worker): split export task", "feat: dark mode",
                    "fix(auth): refresh token race", "perf(db): add index on orders.number"]
_PROJECT_FEATURES = ["alert-filters", "custom-inbound-filters", "data-forwarding", "discard-groups", "minidump",
                     "race-free-group-creation", "rate-limits", "servicehooks", "similarity-indexing",
                     "similarity-view", "span-metrics-extraction"]
_UNUSED_ON_FRONTEND = {"alert-filters", "servicehooks", "discard-transaction", "first-event-severity-calculation",
                       "profiling-ingest-unsampled-profiles", "similarity-embeddings"}
_TEAM_ACCESS = ["alerts:read", "alerts:write", "event:admin", "event:read", "event:write", "member:read",
                "org:read", "project:read", "project:releases", "project:write", "team:read"]
_ORG_FEATURES = ["advanced-search", "alert-filters", "api-keys", "change-alerts", "crash-rate-alerts",
                 "custom-symbol-sources", "dashboards-basic", "dashboards-edit", "data-forwarding",
                 "discover-basic", "discover-query", "event-attachments", "global-views", "incidents",
                 "integrations-alert-rule", "integrations-issue-basic", "integrations-stacktrace-link",
                 "invite-members", "minute-resolution-sessions", "monitors", "open-membership",
                 "performance-view", "profiling", "relay", "session-replay", "shared-issues", "sso-basic",
                 "symbol-sources", "team-insights"]
_COLORS = ["#3f70bf", "#bf6e3f", "#3fbf7f", "#8f3fbf", "#bfb93f", "#3fb5bf"]
_DS_BIASES = ["boostEnvironments", "boostLatestRelease", "ignoreHealthChecks", "boostKeyTransactions",
              "boostLowVolumeTransactions", "boostReplayId", "recalibrationRule", "minimumSampleRate"]
_SUBSCRIPTION_REASONS = ["commented", "assigned", "bookmarked", "status_change", "deployed_in_release",
                         "mentioned", "team_mentioned"]

_CALL_COUNTER = itertools.count()


# --------------------------------------------------------------------------------------------
# small record builders shared by several streams
# --------------------------------------------------------------------------------------------

def _project_profile(index: int) -> Tuple[str, str, str, str, List[str], str, str, str]:
    if index < len(_PROJECT_PROFILES):
        return _PROJECT_PROFILES[index]
    platform, ev_platform, platforms, team, sdk, sdk_version = _EXTRA_PROFILES[(index - 3) % len(_EXTRA_PROFILES)]
    slug = f"svc-{index + 1}"
    return slug, f"Service {index + 1}", platform, ev_platform, platforms, team, sdk, sdk_version


def _user_record(rng: random.Random, uid: int, first: str, last: str, email: str, joined: datetime,
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
            "avatarUuid": _hex(rng) if avatar_upload else None,
            "avatarUrl": f"https://sentry.io/avatar/{_hex(rng)}/" if avatar_upload else None,
        },
    }


def _version_info(version: str) -> Record:
    """expose_version_info(parse_release(version)) as ReleaseSerializer renders it."""
    package: Optional[str] = None
    raw = version
    if "@" in version:
        package, raw = version.split("@", 1)
    build_code = None
    core = raw
    if "+" in raw:
        core, build_code = raw.split("+", 1)
    pre = None
    if "-" in core:
        core, pre = core.split("-", 1)
    parts = core.split(".")
    parsed = len(parts) == 3 and all(p.isdigit() for p in parts) and " " not in raw
    build_hash = None
    if not parsed and len(raw) == 40 and all(c in "0123456789abcdef" for c in raw):
        build_hash = raw
    vers: Record = {"raw": raw}
    if parsed:
        vers.update({
            "major": int(parts[0]), "minor": int(parts[1]), "patch": int(parts[2]),
            "pre": pre, "buildCode": build_code, "components": 3,
        })
        description = core + (f"-{pre}" if pre else "") + (f" ({build_code})" if build_code else "")
    elif build_hash:
        description = raw[:12]
    else:
        description = raw
    return {"package": package, "version": vers, "description": description, "buildHash": build_hash}


def _commit_record(sha: str, message: str, created: datetime, org_slug: str, repo: str, repo_id: str,
                   repo_created: datetime, author: Record, releases: List[Record]) -> Record:
    """CommitWithReleaseSerializer output (the serializer registered last for Commit)."""
    return {
        "id": sha,
        "message": message,
        "dateCreated": format_datetime(created),
        "pullRequest": None,
        "suspectCommitType": "",
        "releases": releases,
        "repository": {
            "id": repo_id,
            "name": f"{org_slug}/{repo}",
            "url": f"https://github.com/{org_slug}/{repo}",
            "provider": {"id": "integrations:github", "name": "GitHub"},
            "status": "active",
            "dateCreated": format_datetime(repo_created),
            "integrationId": "182734",
            "externalSlug": f"{org_slug}/{repo}",
            "externalId": str(int(repo_id) * 7 + 11),
        },
        "author": author,
    }


def _deploy_record(deploy_id: int, environment: str, started: Optional[datetime], finished: datetime,
                   name: Optional[str], url: Optional[str]) -> Record:
    return {
        "id": str(deploy_id),
        "environment": environment,
        "dateStarted": format_datetime(started),
        "dateFinished": format_datetime(finished),
        "name": name,
        "url": url,
    }


def _base_project(p: "_ProjectInfo", features: List[str]) -> Record:
    """ProjectSerializer (base) output, also the shape of a team's "projects" items."""
    return {
        "id": p.id,
        "slug": p.slug,
        "name": p.name,
        "platform": p.platform,
        "dateCreated": p.date_created,
        "isBookmarked": p.is_bookmarked,
        "isMember": p.is_member,
        "features": features,
        "firstEvent": p.first_event,
        "firstTransactionEvent": p.flags["firstTransactionEvent"],
        "access": list(_TEAM_ACCESS),
        "hasAccess": True,
        "hasMinifiedStackTrace": p.flags["hasMinifiedStackTrace"],
        "hasMonitors": p.flags["hasMonitors"],
        "hasProfiles": p.flags["hasProfiles"],
        "hasReplays": p.flags["hasReplays"],
        "hasFeedbacks": p.flags["hasFeedbacks"],
        "hasFlags": p.flags["hasFlags"],
        "hasNewFeedbacks": p.flags["hasNewFeedbacks"],
        "hasSessions": p.flags["hasSessions"],
        "hasInsightsHttp": p.flags["hasInsightsHttp"],
        "hasInsightsDb": p.flags["hasInsightsDb"],
        "hasInsightsAssets": p.flags["hasInsightsAssets"],
        "hasInsightsAppStart": False,
        "hasInsightsScreenLoad": False,
        "hasInsightsVitals": p.flags["hasInsightsVitals"],
        "hasInsightsCaches": p.flags["hasInsightsCaches"],
        "hasInsightsQueues": p.flags["hasInsightsQueues"],
        "hasInsightsLlmMonitoring": False,
        "isInternal": False,
        "isPublic": False,
        "avatar": {"avatarType": "letter_avatar", "avatarUuid": None},
        "color": p.color,
        "status": "active",
    }


class _ProjectInfo:
    """Plain facts about one project, shared by every stream that embeds a project."""

    def __init__(self, index: int, pid: int, created: datetime, rng: random.Random):
        (self.slug, self.name, self.platform, self.event_platform, self.platforms, self.team_slug,
         self.sdk_name, self.sdk_version) = _project_profile(index)
        self.index = index
        self.int_id = pid
        self.id = str(pid)
        self.created = created
        self.date_created = format_datetime(created)
        self.first_event = format_datetime(created + timedelta(minutes=rng.randrange(3, 600),
                                                              microseconds=rng.randrange(1, 999999)))
        self.is_bookmarked = index == 0
        self.is_member = index != 2
        self.color = _COLORS[index % len(_COLORS)]
        web = self.event_platform == "javascript"
        self.flags = {
            "firstTransactionEvent": True,
            "hasMinifiedStackTrace": web,
            "hasMonitors": self.slug == "worker",
            "hasProfiles": self.slug == "api",
            "hasReplays": web,
            "hasFeedbacks": web,
            "hasFlags": False,
            "hasNewFeedbacks": web,
            "hasSessions": web,
            "hasInsightsHttp": True,
            "hasInsightsDb": not web,
            "hasInsightsAssets": web,
            "hasInsightsVitals": web,
            "hasInsightsCaches": self.slug == "api",
            "hasInsightsQueues": self.slug == "worker",
        }
        self.has_user_reports = web
        self.environments: List[Tuple[str, bool]] = _ENVIRONMENTS[: 4 if index % 2 == 0 else 2]
        self.transactions = (_WORKER_TASKS if self.slug == "worker"
                             else _TRANSACTIONS.get(self.event_platform, ["/"]))
        self.group_ref: Record = {"id": self.id, "name": self.name, "slug": self.slug, "platform": self.platform}


# --------------------------------------------------------------------------------------------
# issues
# --------------------------------------------------------------------------------------------

def _issue_metadata(platform: str, kind: str, spec: Tuple, sdk_name: str, priority_score: int) -> Record:
    sdk = {"name": sdk_name, "name_normalized": _SDK_NORMALIZED.get(platform, sdk_name)}
    if kind == "default":
        return {"title": spec[0], "sdk": sdk, "initial_priority": priority_score}
    etype, value, filename, function, _module, _mech = spec
    return {
        "type": etype,
        "value": value,
        "filename": filename,
        "function": function,
        "display_title_with_tree_label": False,
        "in_app_frame_mix": "mixed" if "node_modules" in filename or "/" in filename else "in-app-only",
        "sdk": sdk,
        "initial_priority": priority_score,
    }


class _IssueFactory:
    """Builds issue records (StreamGroupSerializerSnuba shape, default groupStatsPeriod=24h)."""

    def __init__(self, org_slug: str, project: _ProjectInfo, release_versions: List[str],
                 actors: List[Record], teams_by_slug: Dict[str, Record],
                 commit_releases: Sequence[Tuple[datetime, Record]] = (), now: Optional[datetime] = None):
        self.now = now or datetime.now(timezone.utc)
        self.commit_releases = list(commit_releases)   # (created, CommitWithReleaseSerializer release item)
        self.org_slug = org_slug
        self.project = project
        self.release_versions = release_versions
        self.actors = actors                    # user serializer records (resolution / snooze actors)
        self.teams_by_slug = teams_by_slug

    def build(self, rng: random.Random, issue_id: int, short_num: int, first_seen: datetime,
              last_seen: datetime, n_events: int, user_count: int, stats_24h: List[List[int]],
              status: Optional[str] = None) -> Record:
        p = self.project
        platform = p.event_platform
        if rng.random() < 0.15:
            kind = "default"
            spec = rng.choice(_MESSAGES)
            level = spec[1]
            title = spec[0]
            culprit = rng.choice(p.transactions)
        else:
            kind = "error"
            spec = rng.choice(_ERRORS[platform])
            level = "fatal" if rng.random() < 0.05 else "error"
            first_line = spec[1].split("\n", 1)[0]
            title = f"{spec[0]}: {first_line}"
            if len(title) > 100:   # Sentry truncates titles for display
                title = title[:99] + "…"
            culprit = (rng.choice(p.transactions) if platform in ("javascript", "node", "go", "java", "ruby")
                       else f"{spec[4]} in {spec[3]}")
        priority = {"fatal": "high", "error": rng.choice(["high", "medium", "medium"]),
                    "warning": "medium", "info": "low"}[level]
        priority_score = {"high": 75, "medium": 50, "low": 25}[priority]
        metadata = _issue_metadata(platform, kind, spec, p.sdk_name, priority_score)

        if status is None:
            r = rng.random()
            status = STATUS_UNRESOLVED if r < 0.50 else STATUS_RESOLVED if r < 0.85 else STATUS_IGNORED
        status_details: Record = {}
        if status == STATUS_UNRESOLVED:
            age = last_seen - first_seen
            substatus = ("new" if age < timedelta(days=3) and rng.random() < 0.6
                         else rng.choice(["ongoing", "ongoing", "ongoing", "regressed", "escalating"]))
        elif status == STATUS_IGNORED:
            substatus = rng.choice(["archived_until_escalating", "archived_until_condition_met",
                                    "archived_forever"])
            if substatus == "archived_until_condition_met":
                until = rng.random() < 0.5
                status_details = {
                    "ignoreCount": None if until else rng.choice([10, 100, 1000]),
                    "ignoreUntil": format_datetime(last_seen + timedelta(days=rng.choice([7, 30]))) if until else None,
                    "ignoreUserCount": None,
                    "ignoreUserWindow": None,
                    "ignoreWindow": None if until else rng.choice([60, 1440]),
                    "actor": rng.choice(self.actors),
                }
        else:
            substatus = None
            r = rng.random()
            if r < 0.15:
                status_details = {"autoResolved": True}
            elif r < 0.45 and self.release_versions:
                status_details = {"inRelease": rng.choice(self.release_versions), "actor": rng.choice(self.actors)}
            elif r < 0.65:
                status_details = {"inNextRelease": True, "actor": rng.choice(self.actors)}
            elif r < 0.75:
                dev = rng.choice(self.actors)
                committed = min(last_seen + timedelta(minutes=rng.randrange(5, 600)),
                                self.now - timedelta(seconds=rng.randrange(1, 600)))
                # the first release created after the fix contains the commit (none yet if too recent)
                later = [rel for created, rel in self.commit_releases if created > committed][:1]
                status_details = {"inCommit": _commit_record(
                    _hex(rng, 160),
                    f"{rng.choice(_COMMIT_MESSAGES)}\n\nFixes {p.slug.upper()}-{_base32(short_num)}",
                    committed, self.org_slug, "web" if p.event_platform == "javascript" else "backend",
                    "640211" if p.event_platform == "javascript" else "640212",
                    first_seen - timedelta(days=300), {"name": dev["name"], "email": dev["email"]}, later)}

        assigned: Optional[Record] = None
        ra = rng.random()
        if ra < 0.25:
            u = rng.choice(self.actors)
            assigned = {"email": u["email"], "type": "user", "id": u["id"], "name": u["name"]}
        elif ra < 0.35:
            team = self.teams_by_slug.get(p.team_slug)
            if team:
                assigned = {"type": "team", "id": team["id"], "name": team["slug"]}

        share_id = _hex(rng) if rng.random() < 0.03 else None
        annotations: List[Record] = []
        if rng.random() < 0.08:
            key = f"ACME-{rng.randrange(100, 4000)}"
            annotations.append({"displayName": key, "url": f"https://acme.atlassian.net/browse/{key}"})
        subscribed = rng.random() < 0.3
        if subscribed:
            sub_details: Optional[Record] = {"reason": rng.choice(_SUBSCRIPTION_REASONS)}
        elif rng.random() < 0.05:
            sub_details = {"disabled": True}
        else:
            sub_details = None
        count = str(n_events)
        fs, ls = format_datetime(first_seen), format_datetime(last_seen)
        return {
            "id": str(issue_id),
            "shareId": share_id,
            "shortId": f"{p.slug.upper()}-{_base32(short_num)}",
            "title": title,
            "culprit": culprit,
            "permalink": f"https://{self.org_slug}.sentry.io/issues/{issue_id}/",
            "logger": None if kind == "error" or rng.random() < 0.5 else "root",
            "level": level,
            "status": status,
            "statusDetails": status_details,
            "substatus": substatus,
            "isPublic": share_id is not None,
            "platform": platform,
            "project": p.group_ref,
            "type": kind,
            "metadata": metadata,
            "numComments": rng.choice([0, 0, 0, 0, 1, 2, 3]),
            "assignedTo": assigned,
            "isBookmarked": rng.random() < 0.05,
            "isSubscribed": subscribed,
            "subscriptionDetails": sub_details,
            "hasSeen": rng.random() < 0.6,
            "annotations": annotations,
            "issueType": "error",
            "issueCategory": "error",
            "priority": priority,
            "priorityLockedAt": (format_datetime(min(first_seen + timedelta(hours=rng.randrange(1, 48),
                                                                            microseconds=rng.randrange(1, 10**6)),
                                                     self.now - timedelta(seconds=1)))
                                 if rng.random() < 0.07 else None),
            "isUnhandled": spec[-1] in ("onerror", "onunhandledrejection", "panic", "UncaughtExceptionHandler")
            if kind == "error" else False,
            "count": count,
            "userCount": user_count,
            "firstSeen": fs,
            "lastSeen": ls,
            "stats": {"24h": stats_24h},
            "lifetime": {"count": count, "userCount": user_count, "firstSeen": fs, "lastSeen": ls, "stats": None},
            "filtered": None,
        }


def _stats_24h(now_ts: int, event_times: Sequence[int]) -> List[List[int]]:
    """The issue's "stats" for groupStatsPeriod=24h: 24 hourly [bucket start, count] pairs."""
    start_ts = now_ts - now_ts % 3600 - 23 * 3600
    buckets = [0] * 24
    for t in event_times:
        idx = (t - start_ts) // 3600
        if 0 <= idx < 24:
            buckets[idx] += 1
    return [[start_ts + 3600 * i, buckets[i]] for i in range(24)]


def _with_fraction(rng: random.Random, dt: datetime, ceiling: Optional[datetime] = None) -> datetime:
    """Real lastSeen/firstSeen carry the SDK's sub-second timestamp about half of the time."""
    if rng.random() < 0.5:
        return dt
    out = dt.replace(microsecond=rng.randrange(1, 1_000_000))
    if ceiling is not None and out > ceiling:
        return dt
    return out


# --------------------------------------------------------------------------------------------
# events
# --------------------------------------------------------------------------------------------

class _EventFactory:
    """Builds full events (EventSerializer shape) for one project; shares immutable sub-structures."""

    def __init__(self, project: _ProjectInfo, dsn_host: str):
        self.p = project
        self.dsn_host = dsn_host
        self._tag_cache: Dict[Tuple[str, str], Record] = {}
        self._issue_cache: Dict[str, Tuple] = {}
        plat = project.event_platform
        self.sdk = {"name": project.sdk_name, "version": project.sdk_version}
        self.grouping = {"id": _GROUPING_CONFIG, "enhancements": _ENHANCEMENTS}
        if plat == "javascript":
            self.packages: Record = {}
        elif plat == "python":
            self.packages = {"django": "5.1.3", "celery": "5.4.0", "redis": "5.2.0", "requests": "2.32.3",
                             "sentry-sdk": project.sdk_version}
        else:
            self.packages = {}
        self.empty_context: Record = {}
        self.no_errors: List[Record] = []
        self.js_errors = [{"type": "js_no_source", "message": "Source code was not found",
                           "data": {"url": "https://app.acme.io/static/js/main.4f2a1c.js"}}]
        self.other_errors = [{"type": "invalid_data", "message": "Discarded invalid value",
                              "data": {"name": "contexts.trace.span_id", "reason": "expected a span id",
                                       "value": "not-a-span"}}]

    # -- shared pieces ---------------------------------------------------------------------
    def tag(self, key: str, value: str) -> Record:
        t = self._tag_cache.get((key, value))
        if t is None:
            t = {"key": key, "value": value}
            if key == "user":
                kind, _, v = value.partition(":")
                t["query"] = f'user.{kind}:"{v}"'
            self._tag_cache[(key, value)] = t
        return t

    def user_pool(self, rng: random.Random, n: int = 60) -> List[Optional[Record]]:
        pool: List[Optional[Record]] = []
        for i in range(n):
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            uid = str(rng.randrange(1000, 999999))
            email = f"{first.lower()}.{last.lower().replace('ü', 'ue')}{i}@example.com"
            ip = f"203.0.113.{rng.randrange(1, 255)}" if rng.random() < 0.5 else f"198.51.100.{rng.randrange(1, 255)}"
            pool.append({
                "id": uid,
                "email": email if rng.random() < 0.8 else None,
                "username": f"{first.lower()}{i}" if rng.random() < 0.4 else None,
                "ip_address": ip,
                "name": f"{first} {last}" if rng.random() < 0.5 else None,
                "data": {"plan": rng.choice(["free", "team", "business"])} if rng.random() < 0.2 else None,
            })
        if self.p.slug == "worker":   # background tasks mostly run without a user
            pool.extend([None] * n)
        return pool

    def _frames(self, spec: Tuple, rng: random.Random) -> List[Record]:
        etype, value, filename, function, module, _mech = spec
        plat = self.p.event_platform
        frames = []
        outer = [("django/core/handlers/base.py", "_get_response", "django.core.handlers.base", False),
                 ("django/core/handlers/exception.py", "inner", "django.core.handlers.exception", False)]
        if plat == "javascript":
            outer = [("./node_modules/react-dom/cjs/react-dom.production.min.js", "renderWithHooks", None, False)]
        elif plat not in ("python",):
            outer = [("runtime/proc.go" if plat == "go" else "lib/framework/router", "dispatch", None, False)]
        for fname, fn, mod, in_app in outer:
            frames.append(self._frame(fname, fn, mod, in_app, rng))
        frames.append(self._frame(filename, function, module, True, rng))
        return frames

    def _frame(self, filename: str, function: str, module: Optional[str], in_app: bool,
               rng: random.Random) -> Record:
        line = rng.randrange(10, 400)
        web = self.p.event_platform == "javascript"
        return {
            "filename": filename,
            "absPath": (f"app:///{filename.lstrip('./')}" if web else
                        f"/app/{filename}" if not filename.startswith("/") else filename),
            "module": module,
            "package": None,
            "platform": None,
            "instructionAddr": None,
            "symbolAddr": None,
            "function": function,
            "rawFunction": None,
            "symbol": None,
            "context": [[line - 1, "    try:" if not web else "  try {"],
                        [line, f"    {function}(payload)" if not web else f"  {function}(props);"],
                        [line + 1, "    except Exception:" if not web else "  } catch (e) {"]],
            "lineNo": line,
            "colNo": rng.randrange(5, 80) if web else None,
            "inApp": in_app,
            "trust": None,
            "errors": None,
            "lock": None,
            "sourceLink": None,
            "vars": None if web or not in_app else {"payload": "{'items': []}", "self": "<OrderView>"},
        }

    def issue_parts(self, issue: Record) -> Tuple:
        parts = self._issue_cache.get(issue["id"])
        if parts is not None:
            return parts
        rng = _seeded("issue-parts", issue["id"])
        md = issue["metadata"]
        plat = self.p.event_platform
        if issue["type"] == "default":
            main_entry = {"type": "message", "data": {"formatted": md["title"], "message": None, "params": None}}
            message = md["title"]
            location = None
            handled = True
        else:
            spec = next((s for s in _ERRORS[plat] if s[0] == md["type"] and s[3] == md["function"]),
                        _ERRORS[plat][0])
            handled = not issue.get("isUnhandled")
            frames = self._frames(spec, rng)
            has_system = any(not f["inApp"] for f in frames)
            main_entry = {"type": "exception", "data": {
                "values": [{
                    "type": spec[0],
                    "value": spec[1],
                    "mechanism": {"type": spec[5], "handled": handled},
                    "threadId": None,
                    "module": spec[4],
                    "stacktrace": {"frames": frames, "framesOmitted": None, "registers": None,
                                   "hasSystemFrames": has_system},
                    "rawStacktrace": None,
                }],
                "excOmitted": None,
                "hasSystemFrames": has_system,
            }}
            message = ""
            location = spec[2]
        # the transaction (route or task) the event happened in
        culprit = issue["culprit"] or ""
        if self.p.slug == "worker":
            transaction = rng.choice(_WORKER_TASKS)
        elif culprit.startswith("/"):
            transaction = culprit
        elif " /" in culprit:
            transaction = culprit.split(" ", 1)[1]
        else:
            transaction = rng.choice(self.p.transactions)
        path = transaction.split(" ", 1)[-1] if "/" in transaction else "/orders/9921"
        request_entry = None
        if plat == "javascript":
            request_entry = {"type": "request", "data": {
                "apiTarget": None, "method": None, "url": f"https://app.acme.io{path}",
                "query": [], "fragment": None, "data": None,
                "headers": [["Referer", "https://app.acme.io/"],
                            ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                           "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"]],
                "cookies": [], "env": None, "inferredContentType": None}}
        elif self.p.slug != "worker":
            request_entry = {"type": "request", "data": {
                "apiTarget": None, "method": "POST" if culprit.startswith("POST") or rng.random() < 0.4 else "GET",
                "url": f"https://api.acme.io{path}",
                "query": [["page", "2"]] if rng.random() < 0.3 else [], "fragment": None,
                "data": None, "headers": [["Accept", "application/json"], ["Host", "api.acme.io"]],
                "cookies": [], "env": {"SERVER_NAME": "web-1", "SERVER_PORT": "8000"},
                "inferredContentType": None}}
        fingerprint = hashlib.md5(f"{issue['id']}:{issue['title']}".encode()).hexdigest()
        parts = (main_entry, request_entry, message, location, [fingerprint], handled, transaction, path)
        self._issue_cache[issue["id"]] = parts
        return parts

    def contexts(self, rng: random.Random, trace_id: str, span_id: str, browser_version: str,
                 os_name: str) -> Record:
        plat = self.p.event_platform
        trace = {"trace_id": trace_id, "span_id": span_id, "op": "pageload" if plat == "javascript" else
                 "queue.task.celery" if self.p.slug == "worker" else "http.server",
                 "status": "unknown" if plat == "javascript" else "internal_error", "type": "trace"}
        if plat == "javascript":
            return {
                "browser": {"name": "Chrome", "version": browser_version, "type": "browser"},
                "os": {"name": os_name, "version": ">=10" if os_name == "Windows" else "14" if os_name == "Android"
                       else "10.15.7", "type": "os"},
                "trace": trace,
            }
        return {
            "runtime": {"name": "CPython" if plat == "python" else plat, "version": "3.12.7" if plat == "python"
                        else "1.0", "type": "runtime"},
            "os": {"name": "Linux", "version": "6.1.0", "type": "os"},
            "trace": trace,
        }

    def build(self, rng: random.Random, event_id: str, issue: Record, when: int,
              user: Optional[Record], environment: str, release: Optional[str]) -> Record:
        """One full event; `when` is the event time in epoch seconds (events have 1 s granularity)."""
        p = self.p
        plat = p.event_platform
        (main_entry, request_entry, message, location, fingerprints, handled, transaction,
         path) = self.issue_parts(issue)
        crumb_base = when - 30
        crumbs = [
            {"type": "navigation" if plat == "javascript" else "default",
             "category": "navigation" if plat == "javascript" else "query",
             "level": "info", "event_id": None,
             "timestamp": _fmt_ts(crumb_base, 123000),
             "data": {"from": "/", "to": path} if plat == "javascript" else None,
             "message": None if plat == "javascript" else 'SELECT "orders_order"."id" FROM "orders_order" LIMIT 21'},
            {"type": "http", "category": "fetch" if plat == "javascript" else "httplib", "level": "info",
             "event_id": None,
             "timestamp": _fmt_ts(crumb_base + 20, 456000),
             "data": {"method": "GET", "url": "https://api.acme.io/api/orders/", "status_code": 200},
             "message": None},
        ]
        entries = [main_entry, {"type": "breadcrumbs", "data": {"values": crumbs}}]
        if request_entry is not None:
            entries.append(request_entry)
        tags = []
        browser_version = os_name = ""
        if plat == "javascript":
            browser_version = rng.choice(("131.0.0", "131.0.0", "130.0.0", "129.0.0"))
            os_name = rng.choice(("Windows", "Windows", "Mac OS X", "Android"))
            tags.append(self.tag("browser", f"Chrome {browser_version}"))
            tags.append(self.tag("browser.name", "Chrome"))
        tags.append(self.tag("environment", environment))
        if issue["type"] == "error":
            tags.append(self.tag("handled", "yes" if handled else "no"))
        tags.append(self.tag("level", issue["level"]))
        if issue["type"] == "error":
            tags.append(self.tag("mechanism", main_entry["data"]["values"][0]["mechanism"]["type"]))
        if plat == "javascript":
            tags.append(self.tag("os.name", os_name))
        if release:
            tags.append(self.tag("release", release))
        if plat != "javascript":
            tags.append(self.tag("runtime", "CPython 3.12.7" if plat == "python" else plat))
            tags.append(self.tag("runtime.name", "CPython" if plat == "python" else plat))
            tags.append(self.tag("server_name", f"{p.slug}-{int(event_id[:2], 16) % 3 + 1}"))
        tags.append(self.tag("transaction", transaction))
        if plat == "javascript":
            tags.append(self.tag("url", f"https://app.acme.io{path}"))
        if user is not None:
            if user.get("id"):
                tags.append(self.tag("user", f"id:{user['id']}"))
            else:
                tags.append(self.tag("user", f"ip:{user['ip_address']}"))
        r = rng.random()
        errors = (self.no_errors if r >= 0.04 else self.js_errors if plat == "javascript" else self.other_errors)
        received_us = rng.randrange(20_000, 1_900_000)
        return {
            "id": event_id,
            "groupID": issue["id"],
            "eventID": event_id,
            "projectID": p.id,
            "size": rng.randrange(2_000, 60_000),
            "entries": entries,
            "dist": None,
            "message": message,
            "title": issue["title"],
            "location": location,
            "user": user,
            "contexts": self.contexts(rng, _hex(rng), _hex(rng, 64), browser_version, os_name),
            "sdk": self.sdk,
            "context": self.empty_context,
            "packages": self.packages,
            "type": issue["type"],
            "metadata": issue["metadata"],
            "tags": tags,
            "platform": plat,
            "dateReceived": _fmt_ts(when + received_us // 1_000_000, received_us % 1_000_000),
            "errors": errors,
            "occurrence": None,
            "crashFile": None,
            "culprit": issue["culprit"],
            "dateCreated": _fmt_ts(when),
            "fingerprints": fingerprints,
            "groupingConfig": self.grouping,
        }


# --------------------------------------------------------------------------------------------
# the build
# --------------------------------------------------------------------------------------------

def _now_or(now: Optional[datetime]) -> datetime:
    if now is None:
        now = datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(timezone.utc).replace(microsecond=0)


def _release_versions(rng: random.Random, projects: List[_ProjectInfo], n: int) -> List[Tuple[str, List[int]]]:
    """n unique versions in creation order, each with the indices of the projects it belongs to."""
    out: List[Tuple[str, List[int]]] = []
    seen = set()
    counters = {p.slug: [1, 0, 0] for p in projects}
    shared = [1, 0, -1]
    betas = [0]
    for i in range(n):
        r = rng.random()
        proj = projects[i % len(projects)]
        c = counters[proj.slug]
        c[2] += 1
        if rng.random() < 0.15:
            c[1] += 1
            c[2] = 0
        if proj.slug == "web":
            version = f"web@{c[0]}.{c[1]}.{c[2]}+build.{rng.randrange(1, 40)}" if r < 0.7 else \
                f"web@{c[0]}.{c[1]}.{c[2]}"
            pidx = [proj.index]
        elif proj.slug == "api":
            if r < 0.12:
                betas[0] += 1
                version = f"api@{c[0] + 1}.0.0 (beta)" if betas[0] == 1 else f"api@{c[0] + 1}.0.0 (beta {betas[0]})"
            elif r < 0.3:
                version = f"api@{c[0]}.{c[1]}.{c[2]}-rc.{rng.randrange(1, 4)}"
            else:
                version = f"api@{c[0]}.{c[1]}.{c[2]}"
            pidx = [proj.index]
        elif proj.slug == "worker":
            if r < 0.35:
                shared[2] += 1
                version = f"{shared[0]}.{shared[1]}.{shared[2]}"   # plain semver shared by api + worker
                pidx = sorted({proj.index, 1 % len(projects)})
            else:
                version = _hex(rng, 160)
                pidx = [proj.index]
        else:
            version = f"{proj.slug}@{c[0]}.{c[1]}.{c[2]}"
            pidx = [proj.index]
        while version in seen:
            version += ".1"
        seen.add(version)
        out.append((version, pidx))
    if out and all("@" in v for v, _ in out):   # always have one plain semver version
        v, pidx = out[0]
        out[0] = ("1.0.0" if "1.0.0" not in seen else "1.0.0.1", pidx)
    return out


def build_dataset(*, organization: str = "acme", projects: int = 3, events_per_project: int = 250,
                  issues_per_project: int = 120, releases: int = 150, seed: int = 7,
                  now: datetime | None = None) -> Dataset:
    """Build the whole organization. Same arguments -> identical records.

    now=None means the current time truncated to whole seconds; every record date lies before it:
    events and issues over the last ~80 days, projects and releases over the last ~2 years,
    usage rows over the last 30 days (today included).
    """
    # Hundreds of thousands of small dicts: the cyclic GC would otherwise dominate the build time.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(organization, projects, events_per_project, issues_per_project, releases, seed,
                      _now_or(now))
    finally:
        if gc_was_enabled:
            gc.enable()


def _build(organization: str, projects: int, events_per_project: int, issues_per_project: int,
           releases: int, seed: int, now: datetime) -> Dataset:
    rng = random.Random(seed)
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
        "features": list(_ORG_FEATURES),
        "extraOptions": {"traces": {"spansExtractionDate": None, "checkSpanExtractionDate": False}},
    }

    # ---- projects (facts) -----------------------------------------------------------------
    infos: List[_ProjectInfo] = []
    used_pids = set()
    for i in range(projects):
        pid = rng.randrange(4_504_100_000_000_000, 4_509_900_000_000_000)
        while pid in used_pids:
            pid += 1
        used_pids.add(pid)
        created = now - LONG_WINDOW + timedelta(days=rng.randrange(0, 25), seconds=rng.randrange(86400),
                                                microseconds=rng.randrange(1, 999999))
        infos.append(_ProjectInfo(i, pid, created, rng))

    # ---- teams ----------------------------------------------------------------------------
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

    # ---- members (users first: actors of issues come from them) ----------------------------
    members: List[Record] = []
    member_users: List[Record] = []
    n_active, n_pending = 12, 3
    roles = [("owner", "Owner")] + [("manager", "Manager")] + [("admin", "Admin")] * 2 + \
        [("member", "Member")] * 8 + [("billing", "Billing")]
    member_id = rng.randrange(100_000_000, 120_000_000)
    inviter_names: List[str] = []
    for i in range(n_active + n_pending):
        member_id += rng.randrange(1, 5000)
        role, role_name = roles[i % len(roles)]
        joined = org_created + timedelta(days=rng.randrange(0, 500), seconds=rng.randrange(86400),
                                         microseconds=rng.randrange(1, 999999))
        if i < n_active:
            first, last = _FIRST_NAMES[i % len(_FIRST_NAMES)], _LAST_NAMES[(i * 5) % len(_LAST_NAMES)]
            email = f"{first.lower()}.{last.lower().replace('ü', 'ue')}@{organization}.io"
            user = _user_record(rng, rng.randrange(1_000_000, 9_999_999), first, last, email, joined, now)
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
            email = f"new.hire{i - n_active + 1}@{organization}.io"
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

    # ---- releases (versions, dates, projects) ----------------------------------------------
    versions = _release_versions(rng, infos, releases) if infos else []
    rel_rows = []  # (version, project indices, created dt)
    base_created = min(p.created for p in infos) + timedelta(days=20) if infos else now - LONG_WINDOW
    span = (now - timedelta(hours=2) - base_created).total_seconds()
    offsets = sorted(rng.random() for _ in versions)
    for (version, pidx), frac in zip(versions, offsets):
        created = base_created + timedelta(seconds=span * frac)
        created = created.replace(microsecond=rng.randrange(1, 1000) * 1000)   # millisecond precision
        rel_rows.append((version, pidx, created))
    # attributes of each release that other records refer to (commits name the releases they are in)
    rel_attrs: Dict[str, Record] = {}
    arng = random.Random(rng.getrandbits(64))
    for version, pidx, created in rel_rows:
        released = (created + timedelta(minutes=arng.randrange(1, 90), microseconds=arng.randrange(1, 999999))
                    if arng.random() < 0.7 else None)
        if released is not None and released >= now:
            released = None
        has_commits = arng.random() < 0.45
        repo = "web" if "web" in version else "backend"
        sha = _hex(arng, 160)
        r = arng.random()
        ref = sha if has_commits and r < 0.6 else "main" if r < 0.8 else None
        url = (f"https://github.com/{organization}/{repo}/releases/tag/{version.split('@')[-1].split(' ')[0]}"
               if arng.random() < 0.3 else None)
        rel_attrs[version] = {
            "released": released, "has_commits": has_commits, "repo": repo, "sha": sha,
            "commit_release": {"version": version, "shortVersion": version, "ref": ref, "url": url,
                               "dateReleased": format_datetime(released), "dateCreated": format_datetime(created)},
        }
    project_releases: Dict[int, List[Tuple[datetime, str]]] = {p.index: [] for p in infos}
    for version, pidx, created in rel_rows:
        for i in pidx:
            project_releases[i].append((created, version))

    # ---- events + issues per project --------------------------------------------------------
    events_by_slug: Dict[str, List[Record]] = {}
    issues_by_slug: Dict[str, List[Record]] = {}
    release_event_span: Dict[str, List[int]] = {}     # version -> [first, last] event epoch seconds
    release_new_groups: Dict[Tuple[str, int], int] = {}
    window_s = int(EVENT_WINDOW.total_seconds())
    issue_id = rng.randrange(5_100_000_000, 5_200_000_000)
    event_ids = set()
    now_ts = int(now.timestamp())
    for p in infos:
        prng = random.Random(rng.getrandbits(64))
        factory = _EventFactory(p, dsn_host)
        n_issues = max(0, issues_per_project)
        rel_list = sorted(project_releases[p.index])
        rel_times = [r[0].timestamp() for r in rel_list]
        # event times (whole seconds) and issue assignment
        n_ev = events_per_project if n_issues else 0
        times = [now_ts - prng.randrange(1, window_s) for _ in range(n_ev)]   # epoch seconds
        weights = [1.0 / (k + 1) ** 0.9 for k in range(n_issues)]
        prng.shuffle(weights)
        assign = prng.choices(range(n_issues), weights=weights, k=n_ev) if n_issues else []
        if n_ev >= n_issues:   # every issue has at least one event (event times are random already)
            assign[:n_issues] = range(n_issues)
        users = factory.user_pool(prng)
        user_idx = [prng.randrange(len(users)) for _ in range(n_ev)]
        env_names = [e for e, hidden in p.environments if not hidden]
        env_weights = [80, 15, 5][: len(env_names)]
        env_pick = prng.choices(env_names, weights=env_weights, k=n_ev) if n_ev else []
        per_issue_times: List[List[int]] = [[] for _ in range(n_issues)]
        per_issue_users: List[set] = [set() for _ in range(n_issues)]
        per_issue_first: List[Optional[Tuple[int, int]]] = [None] * n_issues
        for k in range(n_ev):
            g = assign[k]
            per_issue_times[g].append(times[k])
            if users[user_idx[k]] is not None:
                per_issue_users[g].add(user_idx[k])
            if per_issue_first[g] is None or times[k] < per_issue_first[g][0]:
                per_issue_first[g] = (times[k], k)

        def release_at(t: int) -> Optional[str]:
            j = bisect_right(rel_times, t) - 1
            if j < 0:
                return None
            return rel_list[j][1]

        # issues
        issue_factory = _IssueFactory(organization, p, [v for _, v in rel_list[-20:]], member_users, team_refs,
                                      [(c, rel_attrs[v]["commit_release"]) for c, v in rel_list], now)
        issues: List[Record] = []
        for g in range(n_issues):
            issue_id += prng.randrange(1, 40_000)
            ts = per_issue_times[g]
            if ts:
                first = _EPOCH + timedelta(seconds=min(ts) - prng.choice([0, 0, 0, prng.randrange(1, 7200)]))
                first = max(first, now - EVENT_WINDOW)
                last = _EPOCH + timedelta(seconds=max(ts))
                n_events, n_users = len(ts), len(per_issue_users[g])
            else:
                last = now - timedelta(seconds=prng.randrange(3600, window_s))
                first = last - timedelta(seconds=prng.randrange(0, 86400 * 5))
                first = max(first, now - EVENT_WINDOW)
                n_events, n_users = prng.randrange(1, 4), prng.randrange(0, 2)
            # Real firstSeen/lastSeen keep the SDK's sub-second timestamp about half of the time,
            # while events list at one-second granularity: stay on the safe side of the events.
            last = _with_fraction(prng, last, ceiling=now - timedelta(microseconds=1))
            if prng.random() < 0.5:
                first = (first - timedelta(seconds=1)).replace(microsecond=prng.randrange(1, 1_000_000))
            issue = issue_factory.build(prng, issue_id, g + 1, first, last, n_events, n_users,
                                        _stats_24h(now_ts, ts))
            issues.append(issue)
            fe = per_issue_first[g]
            if fe is not None:
                rel = release_at(fe[0])
                if rel:
                    release_new_groups[(rel, p.index)] = release_new_groups.get((rel, p.index), 0) + 1

        # events
        events: List[Record] = []
        for k in range(n_ev):
            eid = "%032x" % prng.getrandbits(128)
            while eid in event_ids:
                eid = "%032x" % prng.getrandbits(128)
            event_ids.add(eid)
            rel = release_at(times[k])
            ev = factory.build(prng, eid, issues[assign[k]], times[k], users[user_idx[k]], env_pick[k], rel)
            events.append(ev)
            if rel:
                span_ = release_event_span.get(rel)
                if span_ is None:
                    release_event_span[rel] = [times[k], times[k]]
                else:
                    if times[k] < span_[0]:
                        span_[0] = times[k]
                    if times[k] > span_[1]:
                        span_[1] = times[k]
        events.sort(key=lambda e: e["dateCreated"], reverse=True)
        events_by_slug[p.slug] = events
        issues_by_slug[p.slug] = issues

    # ---- deploys ----------------------------------------------------------------------------
    deploys: Dict[str, List[Record]] = {}
    deploy_id = rng.randrange(40_000_000, 50_000_000)
    deploy_facts: Dict[str, List[Tuple[str, datetime]]] = {}
    n_with_deploys = max(1, len(rel_rows) // 5) if rel_rows else 0
    deployed = sorted(rng.sample(range(len(rel_rows)), n_with_deploys)) if rel_rows else []
    for idx in deployed:
        version, pidx, created = rel_rows[idx]
        envs = ["staging", "production", "production"][: rng.randrange(1, 4)]
        items = []
        t = created + timedelta(minutes=rng.randrange(2, 30))
        for env in envs:
            deploy_id += rng.randrange(1, 900)
            started = t if rng.random() < 0.7 else None
            finished = t + timedelta(seconds=rng.randrange(40, 900), microseconds=rng.randrange(1, 999999))
            finished = min(finished, now - timedelta(seconds=1))
            name = f"{version} to {env}" if rng.random() < 0.6 else None
            url = f"https://github.com/{organization}/deploys/actions/runs/{rng.randrange(10**9, 10**10)}" \
                if rng.random() < 0.5 else None
            items.append(_deploy_record(deploy_id, env, started, finished, name, url))
            deploy_facts.setdefault(version, []).append((env, finished))
            t = finished + timedelta(minutes=rng.randrange(5, 240))
        deploys[version] = items

    # ---- release records ----------------------------------------------------------------------
    release_records: List[Record] = []
    release_id = rng.randrange(1_100_000_000, 1_200_000_000)
    for version, pidx, created in rel_rows:
        release_id += rng.randrange(1, 5000)
        archived = rng.random() < 0.2
        status = "archived" if archived else "open"
        attrs = rel_attrs[version]
        released, has_commits, repo, sha = attrs["released"], attrs["has_commits"], attrs["repo"], attrs["sha"]
        commit_release = attrs["commit_release"]
        ref, url = commit_release["ref"], commit_release["url"]
        last_commit = None
        authors: List[Record] = []
        commit_count = 0
        if has_commits:
            commit_count = rng.randrange(1, 40)
            first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
            author = {"name": f"{first} {last}",
                      "email": f"{first.lower()}@users.noreply.github.com"}
            authors = [author]
            if rng.random() < 0.4:
                f2 = rng.choice(_FIRST_NAMES)
                if f2 != first:
                    authors.append({"name": f"{f2} {rng.choice(_LAST_NAMES)}",
                                    "email": f"{f2.lower()}@users.noreply.github.com"})
            last_commit = _commit_record(sha, rng.choice(_COMMIT_MESSAGES),
                                         created - timedelta(minutes=rng.randrange(5, 600)), organization, repo,
                                         "640211" if repo == "web" else "640212",
                                         org_created + timedelta(days=3), author, [commit_release])
        dep = deploys.get(version, [])
        last_deploy = max(dep, key=lambda d: d["dateFinished"]) if dep else None
        span_ = release_event_span.get(version)
        rel_projects = []
        new_groups_total = 0
        for i in pidx:
            p = infos[i]
            ng = release_new_groups.get((version, i), 0)
            new_groups_total += ng
            rel_projects.append({"id": p.int_id, "slug": p.slug, "name": p.name, "newGroups": ng,
                                 "platform": p.platform, "platforms": list(p.platforms), "hasHealthData": False})
        release_records.append({
            "id": release_id,
            "version": version,
            "status": status,
            "shortVersion": version,
            "versionInfo": _version_info(version),
            "ref": ref,
            "url": url,
            "dateReleased": format_datetime(released),
            "dateCreated": format_datetime(created),
            "data": {},
            "newGroups": new_groups_total,
            "owner": None,
            "commitCount": commit_count,
            "lastCommit": last_commit,
            "deployCount": len(dep),
            "lastDeploy": last_deploy,
            "authors": authors,
            "projects": rel_projects,
            "firstEvent": _fmt_ts(span_[0]) if span_ else None,
            "lastEvent": _fmt_ts(span_[1]) if span_ else None,
            "currentProjectMeta": {},
            "userAgent": rng.choice(["sentry-cli/2.39.1", "sentry-cli/2.38.2", "sentry-vite-plugin/2.22.6", None]),
            "_status": status,
        })

    # ---- per-project records ----------------------------------------------------------------
    releases_by_project: Dict[int, List[Record]] = {p.index: [] for p in infos}
    for rec, (_, pidx, _) in zip(release_records, rel_rows):
        for i in pidx:
            releases_by_project[i].append(rec)

    project_records: List[Record] = []
    project_details: Dict[str, Record] = {}
    project_keys: Dict[str, List[Record]] = {}
    environments: Dict[str, List[Record]] = {}
    env_id = rng.randrange(10_000_000, 20_000_000)
    for p in infos:
        prels = releases_by_project[p.index]
        features = list(_PROJECT_FEATURES) + (["releases"] if prels else [])
        latest_release = None
        if prels:
            best = max(prels, key=lambda r: parse_datetime(r["dateReleased"] or r["dateCreated"]))
            latest_release = {"version": best["version"]}
        latest_deploys: Dict[str, Record] = {}
        for rec in prels:
            for env, finished in deploy_facts.get(rec["version"], []):
                cur = latest_deploys.get(env)
                if cur is None or parse_datetime(cur["dateFinished"]) < finished:
                    latest_deploys[env] = {"version": rec["version"], "dateFinished": format_datetime(finished)}
        team = team_refs[p.team_slug]
        base = _base_project(p, features)
        summary: Record = {
            "team": team,
            "teams": [team],
            "id": p.id,
            "name": p.name,
            "slug": p.slug,
            "isBookmarked": p.is_bookmarked,
            "isMember": p.is_member,
            "access": list(_TEAM_ACCESS),
            "hasAccess": True,
            "dateCreated": p.date_created,
            "environments": [e for e, hidden in p.environments if not hidden],
            "eventProcessing": {"symbolicationDegraded": False},
            "features": features,
            "firstEvent": p.first_event,
            "firstTransactionEvent": p.flags["firstTransactionEvent"],
            "hasSessions": p.flags["hasSessions"],
            "hasProfiles": p.flags["hasProfiles"],
            "hasReplays": p.flags["hasReplays"],
            "hasFeedbacks": p.flags["hasFeedbacks"],
            "hasNewFeedbacks": p.flags["hasNewFeedbacks"],
            "hasMonitors": p.flags["hasMonitors"],
            "hasMinifiedStackTrace": p.flags["hasMinifiedStackTrace"],
            "hasInsightsHttp": base["hasInsightsHttp"],
            "hasInsightsDb": base["hasInsightsDb"],
            "hasInsightsAssets": base["hasInsightsAssets"],
            "hasInsightsAppStart": base["hasInsightsAppStart"],
            "hasInsightsScreenLoad": base["hasInsightsScreenLoad"],
            "hasInsightsVitals": base["hasInsightsVitals"],
            "hasInsightsCaches": base["hasInsightsCaches"],
            "hasInsightsQueues": base["hasInsightsQueues"],
            "hasInsightsLlmMonitoring": base["hasInsightsLlmMonitoring"],
            "platform": p.platform,
            "platforms": list(p.platforms),
            "latestRelease": latest_release,
            "hasUserReports": p.has_user_reports,
            "hasFlags": p.flags["hasFlags"],
            "latestDeploys": latest_deploys or None,
        }
        project_records.append(summary)

        security_token = _hex(rng)
        origins = ["https://app.acme.io", "https://*.acme.io"] if p.event_platform == "javascript" else ["*"]
        sensitive = ["card_number", "iban"] if p.index % 2 else []
        detail: Record = dict(base)
        detail.update({
            "team": team,
            "teams": [team],
            "latestRelease": latest_release,
            "options": {
                "sentry:csp_ignored_sources_defaults": True,
                "sentry:csp_ignored_sources": "",
                "filters:blacklisted_ips": "10.0.0.0/8" if p.index == 1 else "",
                "filters:react-hydration-errors": True,
                "filters:chunk-load-error": True,
                "filters:releases": "",
                "filters:error_messages": "ResizeObserver loop limit exceeded" if p.event_platform == "javascript"
                else "",
                "feedback:branding": True,
                "sentry:feedback_user_report_notifications": True,
                "sentry:feedback_ai_spam_detection": False,
                "sentry:replay_rage_click_issues": True,
                "sentry:replay_hydration_error_issues": True,
                "sentry:toolbar_allowed_origins": "",
                "quotas:spike-protection-disabled": False,
            },
            "digestsMinDelay": 300,
            "digestsMaxDelay": 1800,
            "subjectPrefix": "",
            "allowedDomains": origins,
            "resolveAge": 0 if p.index % 2 else 720,
            "dataScrubber": True,
            "dataScrubberDefaults": True,
            "safeFields": [],
            "storeCrashReports": None,
            "sensitiveFields": sensitive,
            "subjectTemplate": "$shortID - $title",
            "securityToken": security_token,
            "securityTokenHeader": None,
            "verifySSL": False,
            "scrubIPAddresses": p.index == 1,
            "scrapeJavaScript": True,
            "highlightTags": ["handled", "level", "browser", "url"] if p.event_platform == "javascript"
            else ["handled", "level", "transaction", "server_name"],
            "highlightContext": {"trace": ["trace_id"]} if p.event_platform != "javascript"
            else {"browser": ["name"], "trace": ["trace_id"]},
            "highlightPreset": {"tags": ["handled", "level", "release", "environment"],
                                "context": {"trace": ["trace_id"]}},
            "groupingConfig": _GROUPING_CONFIG,
            "groupingEnhancements": "",
            "groupingEnhancementsBase": None,
            "secondaryGroupingExpiry": 0 if p.index != 2 else int((now - timedelta(days=40)).timestamp()),
            "secondaryGroupingConfig": None if p.index != 2 else _LEGACY_GROUPING_CONFIG,
            "fingerprintingRules": "" if p.index != 1 else "error.type:ReadTimeout -> stripe-timeouts",
            "organization": org_record,
            "plugins": [] if p.index != 1 else [_webhooks_plugin()],
            "platforms": list(p.platforms),
            "processingIssues": 0,
            "defaultEnvironment": None,
            "relayPiiConfig": None,
            "builtinSymbolSources": ["ios", "microsoft", "android"],
            "dynamicSamplingBiases": [{"id": b, "active": b != "boostReplayId"} for b in _DS_BIASES],
            "eventProcessing": {"symbolicationDegraded": False},
            "symbolSources": "[]",
            "isDynamicallySampled": p.event_platform == "javascript",
        })
        project_details[p.slug] = detail

        # project keys (client keys / DSNs)
        keys = []
        for k in range(1 if p.index % 2 else 2):
            public, secret = _hex(rng), _hex(rng)
            base_url = f"https://{dsn_host}/api/{p.int_id}"
            label = "Default" if k == 0 else "Mobile app"
            keys.append({
                "id": public,
                "name": label,
                "label": label,
                "public": public,
                "secret": secret,
                "projectId": p.int_id,
                "isActive": k == 0 or rng.random() < 0.5,
                "rateLimit": None if k == 0 and p.index != 1 else {"window": 60, "count": 1000},
                "dsn": {
                    "secret": f"https://{public}:{secret}@{dsn_host}/{p.int_id}",
                    "public": f"https://{public}@{dsn_host}/{p.int_id}",
                    "csp": f"{base_url}/csp-report/?sentry_key={public}",
                    "security": f"{base_url}/security/?sentry_key={public}",
                    "minidump": f"{base_url}/minidump/?sentry_key={public}",
                    "nel": f"{base_url}/nel/?sentry_key={public}",
                    "unreal": f"{base_url}/unreal/{public}/",
                    "crons": f"{base_url}/cron/___MONITOR_SLUG___/{public}/",
                    "cdn": f"https://js.sentry-cdn.com/{public}.min.js",
                    "playstation": f"{base_url}/playstation/?sentry_key={public}",
                    "integration": f"{base_url}/integration/",
                    "otlp_traces": f"{base_url}/integration/otlp/v1/traces",
                    "otlp_logs": f"{base_url}/integration/otlp/v1/logs",
                },
                "browserSdkVersion": "8.x",
                "browserSdk": {"choices": [["latest", "latest"], ["9.x", "9.x"], ["8.x", "8.x"], ["7.x", "7.x"]]},
                "dateCreated": format_datetime(p.created + timedelta(seconds=k * 86400 * 40 + 1,
                                                                     microseconds=rng.randrange(1, 999999))),
                "dynamicSdkLoaderOptions": {"hasReplay": p.event_platform == "javascript", "hasPerformance": True,
                                            "hasDebug": False, "hasFeedback": False, "hasLogsAndMetrics": False},
            })
        project_keys[p.slug] = keys

        envs = []
        for name, hidden in p.environments:
            env_id += rng.randrange(1, 3000)
            envs.append({"id": str(env_id), "name": name, "isHidden": hidden})
        environments[p.slug] = envs

    # ---- teams ----------------------------------------------------------------------------
    teams: List[Record] = []
    for slug in sorted(team_refs):
        ref = team_refs[slug]
        tprojects = [_base_project(p, [f for f in project_records[p.index]["features"]
                                       if f not in _UNUSED_ON_FRONTEND])
                     for p in infos if p.team_slug == slug]
        is_member = slug != "platform"
        teams.append({
            "id": ref["id"],
            "slug": slug,
            "name": ref["name"],
            "dateCreated": format_datetime(org_created + timedelta(days=rng.randrange(0, 200),
                                                                   microseconds=rng.randrange(1, 999999))),
            "isMember": is_member,
            "teamRole": "contributor" if is_member else None,
            "flags": {"idp:provisioned": False},
            "access": list(_TEAM_ACCESS),
            "hasAccess": True,
            "isPending": False,
            "memberCount": rng.randrange(2, n_active + 1),
            "avatar": {"avatarType": "letter_avatar", "avatarUuid": None},
            "externalTeams": [],
            "projects": tprojects,
        })

    # ---- usage (stats_v2 raw outcome rows) --------------------------------------------------
    usage: List[Record] = []
    today = now.date()
    for p in infos:
        per_day: Dict[str, int] = {}
        for ev in events_by_slug[p.slug]:
            d = ev["dateCreated"][:10]
            per_day[d] = per_day.get(d, 0) + 1
        urng = random.Random(rng.getrandbits(64))
        for back in range(USAGE_DAYS - 1, -1, -1):
            day = (today - timedelta(days=back)).isoformat()
            rows = [
                ("error", "accepted", per_day.get(day, 0)),
                ("error", "filtered", urng.randrange(0, 30)),
                ("error", "rate_limited", urng.randrange(0, 400) if urng.random() < 0.15 else 0),
                ("error", "invalid", urng.randrange(0, 5) if urng.random() < 0.3 else 0),
                ("error", "client_discard", urng.randrange(0, 20) if urng.random() < 0.2 else 0),
                ("transaction", "accepted", urng.randrange(800, 20_000)),
                ("transaction", "filtered", urng.randrange(0, 500)),
                ("transaction", "client_discard", urng.randrange(1_000, 60_000)),
                ("transaction", "rate_limited", urng.randrange(0, 3_000) if urng.random() < 0.1 else 0),
                ("attachment", "accepted", urng.randrange(0, 5_000_000) if urng.random() < 0.4 else 0),
            ]
            if p.event_platform == "javascript":
                rows.append(("replay", "accepted", urng.randrange(20, 600)))
                rows.append(("replay", "client_discard", urng.randrange(0, 200)))
            if p.slug == "worker":
                rows.append(("monitor", "accepted", 24 * 4))
            for category, outcome, qty in rows:
                if qty > 0:
                    usage.append({"date": day, "category": category, "outcome": outcome,
                                  "project_id": p.int_id, "quantity": qty})

    return Dataset(
        organization=org_record,
        projects=project_records,
        project_details=project_details,
        events=events_by_slug,
        issues=issues_by_slug,
        releases=release_records,
        teams=teams,
        members=members,
        project_keys=project_keys,
        environments=environments,
        deploys=deploys,
        usage=usage,
    )


def _webhooks_plugin() -> Record:
    return {
        "id": "webhooks",
        "name": "WebHooks",
        "slug": "webhooks",
        "shortName": "WebHooks",
        "type": "notification",
        "canDisable": True,
        "isTestable": True,
        "hasConfiguration": True,
        "metadata": {},
        "contexts": [],
        "status": "unknown",
        "assets": [],
        "doc": "",
        "firstPartyAlternative": None,
        "deprecationDate": None,
        "altIsSentryApp": None,
        "enabled": True,
        "version": "25.1.0",
        "author": {"name": "Sentry Team", "url": "https://github.com/getsentry/sentry"},
        "isDeprecated": False,
        "isHidden": False,
        "description": "Integrates web hooks.",
        "features": ["alert-rule"],
        "featureDescriptions": [{"description": "Configure rule based outgoing HTTP POST requests from Sentry.",
                                 "featureGate": "alert-rule"}],
        "resourceLinks": [{"title": "Report Issue", "url": "https://github.com/getsentry/sentry/issues"},
                          {"title": "View Source",
                           "url": "https://github.com/getsentry/sentry/tree/master/src/sentry/plugins/"
                                  "sentry_webhooks"}],
    }


# --------------------------------------------------------------------------------------------
# records created after the build (the server inserts them)
# --------------------------------------------------------------------------------------------

def _project_info_from(ds: Dataset, project_slug: str) -> _ProjectInfo:
    for i, rec in enumerate(ds.projects):
        if rec["slug"] == project_slug:
            info = _ProjectInfo.__new__(_ProjectInfo)
            (info.slug, info.name, info.platform, info.event_platform, info.platforms, info.team_slug,
             info.sdk_name, info.sdk_version) = _project_profile(i)
            info.slug, info.name, info.platform = rec["slug"], rec["name"], rec["platform"]
            info.platforms = list(rec["platforms"])
            info.index = i
            info.int_id = int(rec["id"])
            info.id = rec["id"]
            info.created = parse_datetime(rec["dateCreated"])
            info.date_created = rec["dateCreated"]
            info.first_event = rec["firstEvent"]
            info.is_bookmarked = rec["isBookmarked"]
            info.is_member = rec["isMember"]
            info.color = _COLORS[i % len(_COLORS)]
            info.flags = {}
            info.has_user_reports = rec["hasUserReports"]
            info.environments = [(e["name"], e["isHidden"]) for e in ds.environments.get(project_slug, [])]
            info.transactions = (_WORKER_TASKS if info.slug == "worker"
                                 else _TRANSACTIONS.get(info.event_platform, ["/"]))
            info.group_ref = {"id": info.id, "name": info.name, "slug": info.slug, "platform": info.platform}
            return info
    raise KeyError(f"unknown project {project_slug!r}")


def _aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def new_event(ds: Dataset, project_slug: str, date_created: datetime) -> Record:
    """Build (do not insert) one more full event of the project, with an id no event has yet."""
    info = _project_info_from(ds, project_slug)
    issues = ds.issues.get(project_slug) or []
    if not issues:
        raise ValueError(f"project {project_slug!r} has no issue to attach an event to")
    when = _aware(date_created).replace(microsecond=0)
    existing = ds.events.get(project_slug, [])
    rng = _seeded("new-event", ds.organization["id"], project_slug, when.isoformat(), len(existing),
                  next(_CALL_COUNTER))
    taken = {e["id"] for e in existing}
    eid = _hex(rng)
    while eid in taken:
        eid = _hex(rng)
    factory = _EventFactory(info, "")
    issue = issues[rng.randrange(len(issues))]
    users = factory.user_pool(rng, 20)
    envs = [e for e, hidden in info.environments if not hidden] or ["production"]
    rel = None
    candidates = [r for r in ds.releases if any(pp["slug"] == project_slug for pp in r["projects"])
                  and parse_datetime(r["dateCreated"]) <= when]
    if candidates:
        rel = max(candidates, key=lambda r: r["dateCreated"])["version"]
    return factory.build(rng, eid, issue, int(when.timestamp()), users[rng.randrange(len(users))], envs[0], rel)


def new_issue(ds: Dataset, project_slug: str, last_seen: datetime) -> Record:
    """Build (do not insert) a brand-new unresolved issue of the project seen last at last_seen."""
    info = _project_info_from(ds, project_slug)
    existing = ds.issues.get(project_slug, [])
    all_ids = [int(i["id"]) for issues in ds.issues.values() for i in issues]
    rng = _seeded("new-issue", ds.organization["id"], project_slug, _aware(last_seen).isoformat(),
                  len(existing), next(_CALL_COUNTER))
    issue_id = (max(all_ids) if all_ids else 5_100_000_000) + rng.randrange(1, 40_000)
    short_num = 1 + max((_base32_decode(i["shortId"].rsplit("-", 1)[1]) for i in existing), default=0)
    last = _aware(last_seen)
    first = last - timedelta(seconds=rng.randrange(0, 3600))
    team_refs = {t["slug"]: {"id": t["id"], "slug": t["slug"], "name": t["name"]} for t in ds.teams}
    actors = [m["user"] for m in ds.members if m.get("user")] or [None]
    versions = [r["version"] for r in ds.releases
                if any(pp["slug"] == project_slug for pp in r["projects"])][-20:]
    # nothing about a brand-new issue is later than its last event
    factory = _IssueFactory(ds.organization["slug"], info, versions, actors, team_refs,
                            now=last + timedelta(seconds=1))
    issue = factory.build(rng, issue_id, short_num, first, last, 1, 1,
                          _stats_24h(int(last.timestamp()), [int(last.timestamp())]),
                          status=STATUS_UNRESOLVED)
    issue["substatus"] = "new"
    issue["statusDetails"] = {}
    return issue


def new_release(ds: Dataset, date_created: datetime, status: str = "open") -> Record:
    """Build (do not insert) one more release created at date_created, "_status" = status."""
    created = _aware(date_created)
    if not created.microsecond:
        created = created.replace(microsecond=(len(ds.releases) * 37 % 999 + 1) * 1000)
    rng = _seeded("new-release", ds.organization["id"], created.isoformat(), len(ds.releases),
                  next(_CALL_COUNTER))
    taken = {r["version"] for r in ds.releases}
    ids = [r["id"] for r in ds.releases]
    proj = ds.projects[len(ds.releases) % len(ds.projects)] if ds.projects else None
    slug = proj["slug"] if proj else "app"
    n = len(ds.releases) + 1
    version = f"{slug}@9.{n // 100}.{n % 100}"
    while version in taken:
        n += 1
        version = f"{slug}@9.{n // 100}.{n % 100}"
    projects = []
    if proj:
        projects.append({"id": int(proj["id"]), "slug": slug, "name": proj["name"], "newGroups": 0,
                         "platform": proj["platform"], "platforms": list(proj["platforms"]),
                         "hasHealthData": False})
    return {
        "id": (max(ids) if ids else 1_100_000_000) + rng.randrange(1, 5000),
        "version": version,
        "status": status,
        "shortVersion": version,
        "versionInfo": _version_info(version),
        "ref": None,
        "url": None,
        "dateReleased": None,
        "dateCreated": format_datetime(created),
        "data": {},
        "newGroups": 0,
        "owner": None,
        "commitCount": 0,
        "lastCommit": None,
        "deployCount": 0,
        "lastDeploy": None,
        "authors": [],
        "projects": projects,
        "firstEvent": None,
        "lastEvent": None,
        "currentProjectMeta": {},
        "userAgent": "sentry-cli/2.39.1",
        "_status": status,
    }

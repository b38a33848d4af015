"""Static catalogues of realistic values the builders draw from (names, platforms, errors, ...)."""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

GROUPING_CONFIG = "newstyle:2023-01-11"
LEGACY_GROUPING_CONFIG = "legacy:2019-03-12"
ENHANCEMENTS = "KLUv_SAYwQAAkwKRs25ld3N0eWxlOjIwMjMtMDEtMTGQ"

# slug, name, project platform, event platform, platforms, team slug, sdk name, sdk version
PROJECT_PROFILES = [
    ("web", "Web", "javascript-react", "javascript", ["javascript"], "frontend",
     "sentry.javascript.react", "8.42.0"),
    ("api", "API", "python-django", "python", ["python"], "backend",
     "sentry.python.django", "2.19.2"),
    ("worker", "Worker", "python-celery", "python", ["python", "other"], "backend",
     "sentry.python.celery", "2.19.2"),
]
EXTRA_PROFILES = [
    ("node-express", "node", ["node"], "platform", "sentry.javascript.node", "8.42.0"),
    ("go", "go", ["go"], "platform", "sentry.go", "0.30.0"),
    ("java-spring-boot", "java", ["java"], "platform", "sentry.java.spring-boot.jakarta", "7.18.1"),
    ("ruby-rails", "ruby", ["ruby"], "platform", "sentry.ruby.rails", "5.22.1"),
]
SDK_NORMALIZED = {
    "javascript": "sentry.javascript.react", "python": "sentry.python", "node": "sentry.javascript.node",
    "go": "sentry.go", "java": "sentry.java", "ruby": "sentry.ruby",
}

# (exception type, value, filename, function, module, mechanism)
ERRORS: Dict[str, List[Tuple[str, str, str, str, Optional[str], str]]] = {
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
MESSAGES = [
    ("Payment provider returned unexpected status 500", "warning"),
    ("Slow database query detected on orders list", "info"),
    ("Webhook signature verification failed", "error"),
    ("Cache miss ratio above threshold", "warning"),
    ("User exceeded export rate limit", "info"),
]
TRANSACTIONS = {
    "javascript": ["/checkout", "/orders", "/orders/:id", "/settings/profile", "/cart", "/"],
    "python": ["/api/orders/", "/api/orders/{order_id}/", "/api/cart/", "/api/auth/login/", "/api/reports/"],
    "node": ["POST /orders", "GET /orders/:id", "GET /cart"],
    "go": ["GET /v1/orders/{id}", "POST /v1/payments"],
    "java": ["POST /api/orders", "GET /api/orders/{id}"],
    "ruby": ["OrdersController#show", "UsersController#update"],
}
WORKER_TASKS = ["accounts.tasks.send_welcome_email", "exports.tasks.export_csv", "reports.tasks.nightly_rollup",
                "billing.tasks.sync_invoices"]
ENVIRONMENTS = [("production", False), ("staging", False), ("development", False), ("local", True)]
FIRST_NAMES = ["Alice", "Bob", "Carla", "David", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kira",
               "Liam", "Maya", "Noah", "Olga", "Pablo"]
LAST_NAMES = ["Smith", "Nguyen", "Garcia", "Müller", "Kowalski", "Okafor", "Rossi", "Tanaka", "Dubois",
              "Silva", "Johansson", "Patel"]
COMMIT_MESSAGES = ["fix(checkout): handle empty cart", "feat(orders): add bulk export", "chore: bump sentry-sdk",
                   "fix(api): retry stripe timeouts", "ref(worker): split export task", "feat: dark mode",
                   "fix(auth): refresh token race", "perf(db): add index on orders.number"]
PROJECT_FEATURES = ["alert-filters", "custom-inbound-filters", "data-forwarding", "discard-groups", "minidump",
                    "race-free-group-creation", "rate-limits", "servicehooks", "similarity-indexing",
                    "similarity-view", "span-metrics-extraction"]
UNUSED_ON_FRONTEND = {"alert-filters", "servicehooks", "discard-transaction", "first-event-severity-calculation",
                      "profiling-ingest-unsampled-profiles", "similarity-embeddings"}
TEAM_ACCESS = ["alerts:read", "alerts:write", "event:admin", "event:read", "event:write", "member:read",
               "org:read", "project:read", "project:releases", "project:write", "team:read"]
ORG_FEATURES = ["advanced-search", "alert-filters", "api-keys", "change-alerts", "crash-rate-alerts",
                "custom-symbol-sources", "dashboards-basic", "dashboards-edit", "data-forwarding",
                "discover-basic", "discover-query", "event-attachments", "global-views", "incidents",
                "integrations-alert-rule", "integrations-issue-basic", "integrations-stacktrace-link",
                "invite-members", "minute-resolution-sessions", "monitors", "open-membership",
                "performance-view", "profiling", "relay", "session-replay", "shared-issues", "sso-basic",
                "symbol-sources", "team-insights"]
COLORS = ["#3f70bf", "#bf6e3f", "#3fbf7f", "#8f3fbf", "#bfb93f", "#3fb5bf"]
DS_BIASES = ["boostEnvironments", "boostLatestRelease", "ignoreHealthChecks", "boostKeyTransactions",
             "boostLowVolumeTransactions", "boostReplayId", "recalibrationRule", "minimumSampleRate"]
SUBSCRIPTION_REASONS = ["commented", "assigned", "bookmarked", "status_change", "deployed_in_release",
                        "mentioned", "team_mentioned"]

# Where GeoIP places an event user's IP address (the `geo` of an event's user interface).
USER_GEOS: List[Dict[str, str]] = [
    {"country_code": "DE", "city": "Berlin", "subdivision": "Land Berlin", "region": "Germany"},
    {"country_code": "US", "city": "San Francisco", "subdivision": "California", "region": "United States"},
    {"country_code": "GB", "city": "London", "subdivision": "England", "region": "United Kingdom"},
    {"country_code": "BR", "city": "São Paulo", "subdivision": "São Paulo", "region": "Brazil"},
    {"country_code": "JP", "city": "Tokyo", "subdivision": "Tokyo", "region": "Japan"},
]

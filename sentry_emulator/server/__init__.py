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

Where things live:
  emulator.py     SentryEmulator: start/stop, request log, add_*/update_issue, one request's path
  plumbing.py     the HTTP server and handler, Request and Response
  routes.py       the route table: path pattern, handler, accepted token scopes
  endpoints/      the handlers, one module per resource family (see endpoints/__init__.py)
  pagination.py   cursors, the Link header, per_page and Sentry's paginators
  params.py       shared query parameters: date ranges, stats periods
  access.py       the token's user (teams, role, Open Membership) and the projects it reads
  versions.py     what an older Sentry version does differently
  records.py      records as served: private keys stripped, times read, ids ordered
  auth.py         the Bearer token, token scopes and their error texts
  rate_limits.py  RateLimitRule and the limiter behind the X-Sentry-Rate-Limit-* headers
  faults.py       FaultInjector, FaultRule and what each fault kind answers or breaks
  errors.py       ApiError and the error texts several modules share
"""
from .access import TokenUser
from .emulator import RequestRecord, SentryEmulator
from .faults import FAULT_KINDS, FaultInjector, FaultRule
from .rate_limits import RateLimitRule

__all__ = [
    "SentryEmulator",
    "TokenUser",
    "RequestRecord",
    "RateLimitRule",
    "FaultInjector",
    "FaultRule",
    "FAULT_KINDS",
]

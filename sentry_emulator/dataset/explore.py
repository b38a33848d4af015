"""The rows of Sentry's Explore datasets (GET /organizations/{org}/events/): spans, logs and
transaction events. Error events are the project events already in the dataset (the server derives
their rows, see server/explore_fields.py), so nothing here touches them.

Every builder here draws from its own random stream (seeded from the dataset's seed), never from
the shared one, so adding them left every other record of a given seed unchanged.

A row is a flat dict keyed by the public field names Sentry's API selects (``span.op``,
``transaction.duration``, ``severity_number``...), plus private keys the server uses:
``_ts`` (epoch seconds, float: the row's time), ``_project`` (slug), ``_project_id`` (int) and, for
spans, ``_in_sampled_tier`` (kept in the downsampled tier that outlives 30 days, see the server).

Shapes (getsentry/sentry): span ids are 16 hex characters and ``id`` equals ``span_id``; log ids
are 32 hex characters and ``id`` equals ``sentry.item_id``; transaction event ids are 32 hex
characters (tests/snuba/api/endpoints/test_organization_events_span_indexed.py test_id_fields,
test_organization_events_ourlogs.py test_simple). Span timestamps carry microseconds, log
timestamps whole seconds plus ``timestamp_precise`` in nanoseconds, transaction events whole
seconds (src/sentry/search/eap/columns.py datetime_processor; the ourlogs tests).
"""
from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional, Sequence, Tuple

from .helpers import random_hex
from .model import Record
from .project_facts import ProjectInfo

# Spans and transactions reach further back than Sentry keeps full-fidelity spans (30 days), so the
# downsampled tier can be seen; logs a little further than their 30-day retention. No row is newer
# than an hour, so a sync's ingestion lag (minutes) never cuts the dataset, however long tests run.
SPAN_DAYS = 45
LOG_DAYS = 35
# The share of spans the downsampled tier keeps (Snuba's tiers divide by powers of 8; 1/512 is the
# smallest, events-stats spans test test_downsampling...: the emulator keeps a larger share so that
# small datasets still show it).
SAMPLED_TIER_SHARE = 1 / 8

_CHILD_OPS = {
    "javascript": [("http.client", "GET /api/orders/"), ("http.client", "POST /api/cart/"),
                   ("resource.script", "https://cdn.example.com/app.js"), ("ui.long-task", "Main UI thread blocked")],
    "python": [("db", "SELECT * FROM orders_order WHERE id = %s"), ("db", "INSERT INTO orders_item (...) VALUES (...)"),
               ("cache.get", "cart:{user_id}"), ("http.client", "POST https://api.stripe.com/v1/charges")],
    "worker": [("db", "SELECT * FROM reports_rollup WHERE day = %s"), ("http.client", "POST https://api.mailgun.net/v3/messages"),
               ("cache.get", "report:{day}"), ("file.write", "/tmp/export.csv")],
}
_ROOT_OPS = {"javascript": "pageload", "python": "http.server", "worker": "queue.task.celery"}
_SERVICES = {"web": ["storefront"], "api": ["checkout", "orders", "auth"], "worker": ["reports", "billing"]}
_LOG_TEMPLATES = [
    ("info", 9, "order {n} created"),
    ("info", 9, "cart {n} updated"),
    ("info", 9, "user {n} signed in"),
    ("debug", 5, "cache miss for key cart:{n}"),
    ("warn", 13, "slow query on orders_order ({n} ms)"),
    ("warn", 13, "retrying payment for order {n}"),
    ("error", 17, "payment failed for order {n}: card_declined"),
    ("error", 17, "connection refused by search-{n}"),
]
_LOG_WEIGHTS = [30, 15, 15, 5, 10, 8, 10, 7]


@dataclass
class ExploreRows:
    spans: List[Record] = field(default_factory=list)
    logs: List[Record] = field(default_factory=list)
    transactions: List[Record] = field(default_factory=list)


def explore_rng(seed: int) -> random.Random:
    """The Explore builders' own random stream: never the shared one, so other records stay put."""
    return random.Random(f"explore-rows:{seed}")


def build_explore_rows(rng: random.Random, infos: Sequence[ProjectInfo], releases_by_project: Dict[int, List[Tuple[datetime, str]]],
                       now: datetime, transactions_per_project: int, logs_per_project: int) -> ExploreRows:
    """Each project's transactions (each with its spans) and logs, oldest first."""
    rows = ExploreRows()
    for info in infos:
        release_at = _ReleaseAt(sorted(releases_by_project.get(info.index, [])))
        environments = [name for name, hidden in info.environments if not hidden] or ["production"]
        for _ in range(transactions_per_project):
            when = now - timedelta(seconds=rng.uniform(3600, SPAN_DAYS * 86400))
            transaction, spans = _transaction_and_spans(rng, info, when, rng.choice(environments), release_at(when))
            rows.transactions.append(transaction)
            rows.spans.extend(spans)
        for _ in range(logs_per_project):
            when = now - timedelta(seconds=rng.uniform(3600, LOG_DAYS * 86400))
            rows.logs.append(_log(rng, info, when, rng.choice(environments), release_at(when)))
    for listing in (rows.spans, rows.logs, rows.transactions):
        listing.sort(key=lambda row: (row["_ts"], row["id"]))
    return rows


def dense_spans(info: ProjectInfo, count: int, start: datetime, end: datetime, seed: int = 0) -> List[Record]:
    """``count`` spans of one project spread over [start, end): for windows above the offset cap.
    Several spans share each second (and some the same microsecond), as on a busy service."""
    rng = random.Random(f"dense-spans:{seed}:{info.slug}:{start.isoformat()}")
    span_seconds = max(1, int((end - start).total_seconds()))
    spans = []
    for index in range(count):
        when = start + timedelta(seconds=rng.randrange(span_seconds), microseconds=rng.choice([0, 250_000, 500_000]))
        op, description = rng.choice(_CHILD_OPS[_kind(info)])
        spans.append(_span(rng, info, when, op, description, rng.uniform(0.5, 80.0), "production", None,
                           transaction=info.transactions[index % len(info.transactions)], trace=random_hex(rng)))
    return sorted(spans, key=lambda row: (row["_ts"], row["id"]))


def _kind(info: ProjectInfo) -> str:
    return "worker" if info.slug == "worker" else info.event_platform if info.event_platform in _CHILD_OPS else "python"


def _transaction_and_spans(rng: random.Random, info: ProjectInfo, when: datetime, environment: str,
                           release: Optional[str]) -> Tuple[Record, List[Record]]:
    kind = _kind(info)
    name = rng.choice(info.transactions)
    trace = random_hex(rng)
    duration_ms = round(rng.lognormvariate(4.5, 0.9), 3)
    status = "ok" if rng.random() < 0.92 else rng.choice(["internal_error", "deadline_exceeded", "not_found"])
    # transaction events are stored at whole seconds (discover's timestamp column)
    end = when.replace(microsecond=0)
    transaction: Record = {
        "id": random_hex(rng),
        "timestamp": _iso(end),
        "transaction": name,
        "transaction.op": _ROOT_OPS[kind],
        "transaction.duration": int(duration_ms),
        "transaction.status": status,
        "project": info.slug,
        "project.id": info.int_id,
        "project.name": info.slug,
        "environment": environment,
        "release": release,
        "trace": trace,
        "http.method": None if kind == "worker" else rng.choice(["GET", "GET", "POST"]),
        "measurements.lcp": round(rng.uniform(400, 4000), 1) if kind == "javascript" else None,
        "_ts": end.timestamp(),
        "_project": info.slug,
        "_project_id": info.int_id,
    }
    root = _span(rng, info, when, _ROOT_OPS[kind], name, duration_ms, environment, release, transaction=name,
                 trace=trace, is_transaction=True, status=status)
    spans = [root]
    for _ in range(rng.randrange(1, 6)):
        op, description = rng.choice(_CHILD_OPS[kind])
        offset = timedelta(microseconds=rng.randrange(0, max(1, int(duration_ms * 800))))
        child = _span(rng, info, when + offset, op, description, round(rng.uniform(0.2, duration_ms * 0.6), 3),
                      environment, release, transaction=name, trace=trace, parent=root["id"])
        spans.append(child)
    return transaction, spans


def _span(rng: random.Random, info: ProjectInfo, when: datetime, op: str, description: str, duration_ms: float,
          environment: str, release: Optional[str], *, transaction: str, trace: str, parent: Optional[str] = None,
          is_transaction: bool = False, status: str = "ok") -> Record:
    span_id = random_hex(rng, 64)
    return {
        "id": span_id,
        "span_id": span_id,
        "parent_span": parent,
        "trace": trace,
        "timestamp": _iso(when),
        "precise.start_ts": round(when.timestamp(), 6),
        "precise.finish_ts": round(when.timestamp() + duration_ms / 1000, 6),
        "span.op": op,
        "span.description": description,
        "span.duration": duration_ms,
        "span.self_time": round(duration_ms * rng.uniform(0.3, 1.0), 3),
        "span.status": status,
        "is_transaction": is_transaction,
        "transaction": transaction,
        "project": info.slug,
        "project.id": info.int_id,
        "project.name": info.slug,
        "environment": environment,
        "release": release,
        "cache.hit": (rng.random() < 0.7) if op.startswith("cache.") else None,
        "http.response_content_length": rng.randrange(200, 90_000) if op == "http.client" else None,
        "_ts": when.timestamp(),
        "_project": info.slug,
        "_project_id": info.int_id,
        "_in_sampled_tier": rng.random() < SAMPLED_TIER_SHARE,
    }


def _log(rng: random.Random, info: ProjectInfo, when: datetime, environment: str, release: Optional[str]) -> Record:
    severity, number, template = rng.choices(_LOG_TEMPLATES, weights=_LOG_WEIGHTS)[0]
    seconds = int(when.timestamp())
    precise = seconds * 1_000_000_000 + rng.randrange(1_000_000_000)
    item_id = random_hex(rng)
    return {
        "id": item_id,
        "sentry.item_id": item_id,
        "timestamp": _iso(datetime.fromtimestamp(seconds, timezone.utc)),
        "timestamp_precise": precise,
        "observed_timestamp": str(precise + rng.randrange(1_000_000, 900_000_000)),
        "message": template.format(n=rng.randrange(1000, 99999)),
        "severity": severity,
        "severity_number": number,
        "trace": random_hex(rng),
        "service": rng.choice(_SERVICES.get(info.slug, ["app"])),
        "project": info.slug,
        "project.id": info.int_id,
        "environment": environment,
        "release": release,
        "payload_size": rng.randrange(120, 4000),
        "_ts": precise / 1e9,
        "_project": info.slug,
        "_project_id": info.int_id,
    }


def _iso(when: datetime) -> str:
    """Python's isoformat in UTC, as Sentry renders EAP and discover timestamps ('+00:00',
    microseconds only when not zero): src/sentry/search/eap/columns.py datetime_processor."""
    return when.astimezone(timezone.utc).isoformat()


class _ReleaseAt:
    """The project's latest release created at or before a moment, or None."""

    def __init__(self, releases: List[Tuple[datetime, str]]):
        self._times = [created for created, _ in releases]
        self._versions = [version for _, version in releases]

    def __call__(self, when: datetime) -> Optional[str]:
        index = bisect_right(self._times, when)
        return self._versions[index - 1] if index else None

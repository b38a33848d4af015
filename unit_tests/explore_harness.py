"""Explore queries as tests run them: configs, reads, and the rows the emulator holds for a query."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence

from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder, ConfiguredAirbyteStreamBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from airbyte_cdk.test.entrypoint_wrapper import read as entrypoint_read

from sentry_emulator.dataset import Dataset, Record
from sentry_emulator.server import SentryEmulator
from sentry_emulator.server.explore_fields import error_rows
from source_sentry import SourceSentry

from conftest import NOW
from harness import config_for

EVENTS_PATH = "/api/0/organizations/acme/events/"
# A fixed start inside every dataset's reach: rows exactly at a moving bound (now minus 29 days) would
# make a test depend on when it runs. Whole seconds, as a config's start_date.
START = (NOW - timedelta(days=20)).replace(microsecond=0)
START_DATE = START.strftime("%Y-%m-%dT%H:%M:%SZ")


def explore_config(emulator: SentryEmulator, *queries: Mapping[str, Any], **overrides: Any) -> Dict[str, Any]:
    return config_for(emulator, **{"start_date": START_DATE, "explore_queries": list(queries), **overrides})


def read_explore(config: Mapping[str, Any], names: Iterable[str], sync_mode: SyncMode = SyncMode.incremental,
                 state: Optional[list] = None, expect_failure: bool = False) -> EntrypointOutput:
    builder = CatalogBuilder()
    for name in names:
        builder.with_stream(ConfiguredAirbyteStreamBuilder().with_name(name).with_sync_mode(sync_mode).with_primary_key([["id"]]))
    catalog = builder.build()
    source = SourceSentry(config=config, catalog=catalog, state=state)
    return entrypoint_read(source, config, catalog, state, expecting_exception=expect_failure)


def rows_of(dataset: Dataset, name: str) -> List[Record]:
    """What the emulator's dataset holds for an Explore dataset (errors: the project events)."""
    if name == "errors":
        return error_rows(dataset, {})
    return dataset.explore[name]


def expected_rows(dataset: Dataset, name: str, fields: Sequence[str], where: Callable[[Record], bool] = lambda row: True,
                  since: datetime = START, until: Optional[datetime] = None, projects: Optional[Sequence[str]] = None,
                  keep_nulls: bool = True) -> List[Dict[str, Any]]:
    """The records an explore row stream emits: the fields asked for, id and timestamp, and what
    Sentry adds (project.name; for logs timestamp_precise). Top-level nulls stay (KeepTopLevelNulls);
    the Connector Builder, which runs no custom component, drops them (keep_nulls=False)."""
    columns = list(fields) + [field for field in ("id", "timestamp") if field not in fields]
    columns += ["timestamp_precise"] if name == "logs" else [] if {"project.id", "project.name"} & set(fields) else ["project.name"]
    lower = since.timestamp()
    upper = until.timestamp() if until else math.inf
    out = []
    for row in rows_of(dataset, name):
        if lower <= row["_ts"] < upper and (projects is None or row["_project"] in projects) and where(row):
            out.append({column: row.get(column) for column in columns if keep_nulls or row.get(column) is not None})
    return out


def explore_requests(emulator: SentryEmulator, dataset: Optional[str] = None) -> List[Any]:
    return [request for request in emulator.requests
            if request.path == EVENTS_PATH and (dataset is None or request.query.get("dataset") == [dataset])]


def windows(start: datetime, end: datetime, step: timedelta) -> List[tuple]:
    """The [start, end) windows a sync reads, the last one ending at `end`."""
    bounds = []
    while start < end:
        bounds.append((start, min(start + step, end)))
        start += step
    return bounds


def pages_for(dataset: Dataset, name: str, bounds: Sequence[tuple], where: Callable[[Record], bool] = lambda row: True) -> int:
    """Requests that page through these windows 100 rows at a time (an empty window costs one)."""
    total = 0
    for lower, upper in bounds:
        count = sum(1 for row in rows_of(dataset, name) if lower.timestamp() <= row["_ts"] < upper.timestamp() and where(row))
        total += max(1, math.ceil(count / 100))
    return total


def by_id(records: Iterable[Mapping[str, Any]]) -> Dict[str, Mapping[str, Any]]:
    return {record["id"]: record for record in records}


def utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

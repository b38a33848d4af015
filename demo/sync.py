#!/usr/bin/env python
"""Sync Sentry into a local DuckDB file with PyAirbyte, then query it.

    pip install -e ".[demo]" && python demo/sync.py        # the checkout's Sentry emulator, offline
    python demo/sync.py --config secrets/config.json         # a real Sentry organization

Without --config the script starts this checkout's Sentry emulator in this process (3 projects,
3,000 events, spans of 600 transactions), writes a config pointing at it with one Explore query of
spans, runs the installed `source-sentry` executable through PyAirbyte into PyAirbyte's local
DuckDB cache under .cache/sentry-demo/, prints a row count per stream, the ten issues with the most
events and the slowest span operations, then stops the emulator.

With --config it syncs the organization that config names (the connector's spec: auth_token,
organization, optional hostname, project/projects, start_date, explore_queries): incrementally, so
a second run only fetches what is new (--full-refresh to start over). The span summary is printed
when the config has an explore query named "spans" with span.op and span.duration among its fields.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

# PyAirbyte reads these when it is imported. Offline mode: no look-up in Airbyte's connector
# registry (the connector is our local executable) and no usage telemetry. DO_NOT_TRACK is the
# telemetry opt-out on its own, for older PyAirbyte versions.
os.environ["AIRBYTE_OFFLINE_MODE"] = "1"
os.environ["DO_NOT_TRACK"] = "1"
# PyAirbyte's cloud clients warn about Python versions Google stops supporting one day.
warnings.filterwarnings("ignore", category=FutureWarning)

ROOT = Path(__file__).resolve().parents[1]
CACHE_DIR = ROOT / ".cache" / "sentry-demo"
# The emulator is a test tool that is not installed with the connector (it is not in the wheel):
# import it from this checkout.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The emulator's organization: a few thousand events over the last 80 days.
DATASET = dict(organization="acme", projects=3, events_per_project=1000, issues_per_project=150, releases=120,
               transactions_per_project=200)
# One Explore query: every span of the last 29 days, one row each (the stream explore_spans).
SPANS_QUERY = {"name": "spans", "dataset": "spans", "fields": ["span.op", "span.description", "span.duration", "transaction"]}

TOP_ISSUES_SQL = """
SELECT shortid                              AS short_id,
       title,
       json_extract_string(project, '$.slug') AS project,
       status,
       CAST(count AS BIGINT)                AS events
FROM {schema}.issues
ORDER BY events DESC, short_id
LIMIT 10
"""

# PyAirbyte names columns in lower snake case: span.op is span_op, span.duration span_duration (ms).
SLOWEST_SPAN_OPS_SQL = """
SELECT span_op                                              AS operation,
       COUNT(*)                                             AS spans,
       ROUND(QUANTILE_CONT(span_duration, 0.95), 1)         AS p95_ms,
       ROUND(MAX(span_duration), 1)                         AS max_ms
FROM {schema}.explore_spans
GROUP BY span_op
ORDER BY p95_ms DESC
LIMIT 5
"""


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="a source-sentry config (JSON) for a real Sentry organization")
    parser.add_argument("--full-refresh", action="store_true", help="with --config: re-read everything")
    args = parser.parse_args(argv)

    try:
        import airbyte as ab
        from airbyte.caches import DuckDBCache
    except ImportError:
        print("PyAirbyte is not installed: run `pip install -e \".[demo]\"` (Python 3.10 to 3.12).", file=sys.stderr)
        return 2

    executable = _connector_executable()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    emulator = None
    try:
        if args.config:
            config = json.loads(args.config.read_text())
            name, full_refresh = "organization", args.full_refresh
        else:
            emulator = _start_emulator()
            config = {"auth_token": emulator.token, "organization": DATASET["organization"], "hostname": emulator.url,
                      "explore_queries": [SPANS_QUERY]}
            config_path = CACHE_DIR / "emulator-config.json"
            config_path.write_text(json.dumps(config, indent=2) + "\n")
            print(f"Sentry emulator at {emulator.url}; config written to {config_path.relative_to(ROOT)}")
            # A new emulator each run: state saved by an earlier run means nothing to it.
            name, full_refresh = "emulator", True

        source = ab.get_source("source-sentry", config=config, local_executable=executable)
        source.check()
        empty = [stream.name for stream in source.discovered_catalog.streams if not stream.json_schema.get("properties")]
        if empty:
            print(
                f"The connector reported empty schemas for {', '.join(empty)}: the CDK's schema loader guessed "
                "the wrong package (it takes the first loaded module named 'source_*'; boto3, which PyAirbyte "
                "installs, loads multiprocessing.resource_tracker). source_sentry/source.py must inline its "
                "schema files. See unit_tests/test_packaging.py.",
                file=sys.stderr,
            )
            return 1
        source.select_all_streams()
        db_path = CACHE_DIR / f"{name}.duckdb"
        cache = DuckDBCache(db_path=db_path, schema_name="sentry")
        started = time.monotonic()
        result = source.read(cache=cache, force_full_refresh=full_refresh)
        elapsed = time.monotonic() - started

        print()
        print(f"Synced {result.processed_records} records in {elapsed:.1f} s into {db_path.relative_to(ROOT)} (schema {cache.schema_name})")
        _print_counts(cache, sorted(result.streams), _ground_truth_counts(emulator) if emulator else None)
        print()
        print("Ten issues with the most events:")
        rows = _query(cache, TOP_ISSUES_SQL.format(schema=cache.schema_name))
        _print_table(["short id", "title", "project", "status", "events"], rows)
        if "explore_spans" in result.streams:
            print()
            print("Slowest span operations (explore_spans, p95 of span.duration):")
            _print_table(["operation", "spans", "p95 ms", "max ms"], _query(cache, SLOWEST_SPAN_OPS_SQL.format(schema=cache.schema_name)))
        if emulator:
            print()
            print(f"The emulator answered {len(emulator.requests)} requests.")
        return 0
    finally:
        if emulator:
            emulator.stop()


def _connector_executable() -> Path:
    """The `source-sentry` script installed beside this interpreter (pip install -e .), else on PATH."""
    beside = Path(sys.executable).parent / "source-sentry"
    found = beside if beside.exists() else (Path(shutil.which("source-sentry")) if shutil.which("source-sentry") else None)
    if found is None:
        sys.exit("The source-sentry executable is not installed: run `pip install -e \".[demo]\"` in this environment.")
    return found


def _start_emulator():
    from sentry_emulator.dataset import build_dataset
    from sentry_emulator.server import SentryEmulator

    return SentryEmulator(build_dataset(**DATASET)).start()


def _ground_truth_counts(emulator) -> Dict[str, Any]:
    """What the emulator holds per stream (usage statistics are aggregated by the API: not counted)."""
    from sentry_emulator.dataset.releases import listed_deploys

    dataset = emulator.dataset
    releases = {release["version"]: release for release in dataset.releases}
    return {
        "projects": len(dataset.projects),
        "project_detail": len(dataset.project_details),
        "events": sum(len(events) for events in dataset.events.values()),
        "issues": sum(len(issues) for issues in dataset.issues.values()),
        "releases": len(dataset.releases),
        "teams": len(dataset.teams),
        "members": len(dataset.members),
        "project_keys": sum(len(keys) for keys in dataset.project_keys.values()),
        "environments": sum(len(environments) for environments in dataset.environments.values()),
        # Sentry lists a release's last deploy per project and environment, not every deploy
        "release_deploys": sum(len(listed_deploys(releases[version], deploys)) for version, deploys in dataset.deploys.items()),
        "organization_stats": "-",
        # spans of the last 29 days (how far back the connector reads spans)
        "explore_spans": sum(1 for span in dataset.explore["spans"]
                             if span["_ts"] >= (datetime.now(timezone.utc) - timedelta(days=29)).timestamp()),
    }


def _query(cache, sql: str) -> List[Tuple[Any, ...]]:
    from sqlalchemy import text

    with cache.get_sql_engine().connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def _print_counts(cache, streams: List[str], expected: Optional[Dict[str, Any]]) -> None:
    headers = ["stream", "rows"] + (["emulator has"] if expected is not None else [])
    rows = []
    for stream in streams:
        (count,), = _query(cache, f"SELECT COUNT(*) FROM {cache.schema_name}.{stream}")
        rows.append((stream, count) + ((expected.get(stream, "?"),) if expected is not None else ()))
    _print_table(headers, rows)


def _print_table(headers: List[str], rows: List[Tuple[Any, ...]], max_width: int = 60) -> None:
    def cell(value: Any) -> str:
        text = str(value)
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(isinstance(row[i], int) or row[i] == "-" for row in rows) for i in range(len(headers))]

    def line(values: List[str]) -> str:
        return "  ".join(v.rjust(w) if numeric[i] else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths))).rstrip()

    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in cells:
        print(line(row))


if __name__ == "__main__":
    sys.exit(main())

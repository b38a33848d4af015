#!/usr/bin/env python
"""Write the derived files of integration_tests/ from a deterministic emulator.

    python scripts/write_expected_records.py           # rewrite them
    python scripts/write_expected_records.py --check   # exit 1 if any is stale

integration_tests/sample_config.json (hand-written: the emulator's token and organization, the
`python -m sentry_emulator` default address, a fixed start_date) is read with its hostname pointed
at an emulator started here on a free port. The emulator serves a small dataset built with a FIXED
`now`, so every record and date is the same on every run (the issue search's 90-day look-back, which
would hide that dataset today, is turned off). The connector's window end is the real
clock, which is always later than that `now`, and the start_date is fixed: the same records come
back whatever the day. The one stream whose window follows the real clock, organization_stats
(usage of the last 89 days, the connector's floor), is empty against this old dataset: it has no
expected records (other tests read it against a dataset dated today).

Written here:
  configured_catalog.json              every discovered stream, full refresh
  configured_catalog_incremental.json  every stream that supports incremental, incremental
  abnormal_state.json                  a cursor in the far future for each incremental stream
  expected_records.jsonl               a full-refresh read of configured_catalog.json, sorted
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from airbyte_cdk.models import AirbyteCatalog, ConfiguredAirbyteCatalogSerializer  # noqa: E402
from airbyte_cdk.test.entrypoint_wrapper import discover, read  # noqa: E402

from sentry_emulator.dataset import Dataset, build_dataset  # noqa: E402
from sentry_emulator.server import SentryEmulator  # noqa: E402
from source_sentry import SourceSentry  # noqa: E402

INTEGRATION_TESTS = ROOT / "integration_tests"
SAMPLE_CONFIG = INTEGRATION_TESTS / "sample_config.json"
CONFIGURED_CATALOG = INTEGRATION_TESTS / "configured_catalog.json"
CONFIGURED_CATALOG_INCREMENTAL = INTEGRATION_TESTS / "configured_catalog_incremental.json"
ABNORMAL_STATE = INTEGRATION_TESTS / "abnormal_state.json"
EXPECTED_RECORDS = INTEGRATION_TESTS / "expected_records.jsonl"

FIXED_NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=timezone.utc)
DATASET = dict(organization="acme", projects=2, events_per_project=10, issues_per_project=6, releases=5, seed=7)
# The stream whose records depend on the real clock (see above).
REAL_CLOCK_STREAMS = ("organization_stats",)
FUTURE = "2099-01-01T00:00:00Z"


def deterministic_dataset() -> Dataset:
    return build_dataset(now=FIXED_NOW, **DATASET)


def start_emulator() -> SentryEmulator:
    # Sentry's issue search looks back 90 days at most from today: this dataset is older, so the
    # emulator's look-back is turned off (the connector's windows are fixed by the start_date).
    return SentryEmulator(deterministic_dataset(), issue_search_max_age=None).start()


def emulator_config(path: Path, emulator: SentryEmulator) -> Dict[str, Any]:
    """A config file of integration_tests/ with its hostname pointed at a running emulator."""
    return {**json.loads(path.read_text()), "hostname": emulator.url}


def discovered_catalog(config: Mapping[str, Any]) -> AirbyteCatalog:
    output = discover(SourceSentry(config=config), config)
    return output.catalog.catalog


def configured_catalog(catalog: AirbyteCatalog, incremental: bool) -> Dict[str, Any]:
    streams = []
    for stream in catalog.streams:
        modes = [mode.value for mode in stream.supported_sync_modes]
        if incremental and "incremental" not in modes:
            continue
        entry: Dict[str, Any] = {
            "stream": {"name": stream.name, "json_schema": {}, "supported_sync_modes": modes},
            "sync_mode": "incremental" if incremental else "full_refresh",
            "destination_sync_mode": "append_dedup" if incremental else "overwrite",
            "primary_key": stream.source_defined_primary_key,
        }
        if stream.source_defined_cursor:
            entry["stream"].update(source_defined_cursor=True, default_cursor_field=stream.default_cursor_field)
        entry["stream"]["source_defined_primary_key"] = stream.source_defined_primary_key
        if incremental:
            entry["cursor_field"] = stream.default_cursor_field
        streams.append(entry)
    return {"streams": streams}


def abnormal_state(catalog: AirbyteCatalog) -> List[Dict[str, Any]]:
    """Airbyte's per-stream state, each incremental stream's cursor far in the future."""
    states = []
    for stream in catalog.streams:
        if not stream.source_defined_cursor:
            continue
        (cursor,) = stream.default_cursor_field
        value = FUTURE[:10] if cursor == "date" else FUTURE
        states.append({"type": "STREAM", "stream": {"stream_descriptor": {"name": stream.name}, "stream_state": {cursor: value}}})
    return states


def read_records(config: Mapping[str, Any], catalog: Dict[str, Any]) -> List[Dict[str, Any]]:
    """A full read, as CAT's expected_records lines, in a stable order (the read is concurrent)."""
    configured = ConfiguredAirbyteCatalogSerializer.load(catalog)
    output = read(SourceSentry(config=config, catalog=configured), config, configured)
    if output.errors:
        raise RuntimeError(f"the read failed: {[error.trace.error.message for error in output.errors]}")
    order = {entry["stream"]["name"]: index for index, entry in enumerate(catalog["streams"])}
    emitted_at = int(FIXED_NOW.timestamp() * 1000)
    lines = [{"stream": m.record.stream, "data": m.record.data, "emitted_at": emitted_at} for m in output.records]
    return sorted(lines, key=lambda line: (order[line["stream"]], json.dumps(line["data"], sort_keys=True)))


def render_json(value: Any) -> str:
    return json.dumps(value, indent=2) + "\n"


def render_jsonl(lines: List[Dict[str, Any]]) -> str:
    return "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines)


def derived_files(emulator: SentryEmulator) -> Dict[Path, str]:
    """The text each derived file should hold, read against a running deterministic emulator."""
    config = emulator_config(SAMPLE_CONFIG, emulator)
    catalog = discovered_catalog(config)
    full = configured_catalog(catalog, incremental=False)
    return {
        CONFIGURED_CATALOG: render_json(full),
        CONFIGURED_CATALOG_INCREMENTAL: render_json(configured_catalog(catalog, incremental=True)),
        ABNORMAL_STATE: render_json(abnormal_state(catalog)),
        EXPECTED_RECORDS: render_jsonl(read_records(config, full)),
    }


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a derived file is stale")
    args = parser.parse_args(argv)
    emulator = start_emulator()
    try:
        files = derived_files(emulator)
    finally:
        emulator.stop()
    stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
    for path, text in files.items():
        name = path.relative_to(ROOT)
        if args.check:
            print(f"{name}: {'stale' if path in stale else 'up to date'}")
        else:
            path.write_text(text)
            print(f"wrote {name} ({text.count(chr(10))} lines)")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())

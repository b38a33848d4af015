"""Run the connector the way Airbyte does and compare its output with the emulator's ground truth."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from airbyte_cdk.models import AirbyteMessageSerializer, AirbyteStateMessage, SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder, ConfiguredAirbyteStreamBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput
from airbyte_cdk.test.entrypoint_wrapper import read as entrypoint_read
from airbyte_cdk.test.entrypoint_wrapper import discover as entrypoint_discover
from airbyte_cdk.test.state_builder import StateBuilder

from sentry_emulator.dataset import Dataset, format_datetime, is_private_key, parse_datetime
from sentry_emulator.dataset.releases import listed_deploys
from sentry_emulator.server.endpoints.issue_stats import timeline_of
from sentry_emulator.server import SentryEmulator
from source_sentry import SourceSentry

TOKEN = "emulator-token"

# stream -> (primary key, cursor field or None, project scoped?)
STREAMS: Dict[str, tuple] = {
    "projects": ("id", "dateCreated", False),
    "project_detail": ("id", None, True),
    "events": ("id", "dateCreated", True),
    "issues": ("id", "lastSeen", True),
    "releases": ("id", "dateCreated", False),
    "teams": ("id", None, False),
    "members": ("id", None, False),
    "project_keys": ("id", None, True),
    "environments": ("id", None, True),
    "release_deploys": ("id", "dateFinished", False),
    "organization_stats": ("date", "date", False),
}
PRIMARY_KEYS = {"environments": [["id"], ["project"]], "organization_stats": [["date"], ["category"], ["outcome"], ["project_id"]]}
INCREMENTAL_STREAMS = [name for name, (_, cursor, _) in STREAMS.items() if cursor]


def config_for(emulator: SentryEmulator, **overrides: Any) -> Dict[str, Any]:
    # retries wait 0.02, 0.04... s instead of 2, 4... s: the same logic, fast tests
    config = {"auth_token": TOKEN, "organization": "acme", "hostname": emulator.url, "retry_backoff_seconds": 0.01}
    config.update(overrides)
    return {key: value for key, value in config.items() if value is not None}


def catalog_for(streams: Iterable[str], sync_mode: SyncMode = SyncMode.full_refresh):
    builder = CatalogBuilder()
    for name in streams:
        builder.with_stream(
            ConfiguredAirbyteStreamBuilder().with_name(name).with_sync_mode(sync_mode).with_primary_key(primary_key_of(name))
        )
    return builder.build()


def state_for(states: Mapping[str, Any]) -> List[AirbyteStateMessage]:
    builder = StateBuilder()
    for name, value in states.items():
        builder.with_stream_state(name, value)
    return builder.build()


def read(
    config: Mapping[str, Any],
    streams: Iterable[str],
    sync_mode: SyncMode = SyncMode.full_refresh,
    state: Optional[List[AirbyteStateMessage]] = None,
    expect_failure: bool = False,
) -> EntrypointOutput:
    catalog = catalog_for(streams, sync_mode)
    source = SourceSentry(config=config, catalog=catalog, state=state)
    return entrypoint_read(source, config, catalog, state, expecting_exception=expect_failure)


def discover(config: Mapping[str, Any]) -> EntrypointOutput:
    return entrypoint_discover(SourceSentry(config=config), config)


def records_of(output: EntrypointOutput, stream: str) -> List[Dict[str, Any]]:
    return [message.record.data for message in output.records if message.record.stream == stream]


def ids_of(records: Iterable[Mapping[str, Any]], key: str = "id") -> List[Any]:
    return [record[key] for record in records]


def public(record: Mapping[str, Any]) -> Dict[str, Any]:
    """A record as the connector emits it: without the emulator's private keys (top-level nulls
    included: source_sentry/components.py KeepTopLevelNulls)."""
    return {key: value for key, value in record.items() if not is_private_key(key)}


def ground_truth(dataset: Dataset, stream: str, projects: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
    """Every record the API holds for a stream, as the connector should emit it."""
    slugs = list(projects) if projects else [project["slug"] for project in dataset.projects]
    if stream == "projects":
        rows = [p for p in dataset.projects if p["slug"] in slugs]
    elif stream == "project_detail":
        rows = [dataset.project_details[slug] for slug in slugs]
    elif stream == "events":
        rows = [row for slug in slugs for row in dataset.events[slug]]
    elif stream == "issues":
        rows = [synced_issue(row) for slug in slugs for row in dataset.issues[slug]]
    elif stream in ("releases", "teams", "members"):
        rows = getattr(dataset, stream)
    elif stream == "project_keys":
        rows = [key for slug in slugs for key in dataset.project_keys.get(slug, [])]
    elif stream == "environments":
        rows = [{**env, "project": slug} for slug in slugs for env in dataset.environments.get(slug, [])]
    elif stream == "release_deploys":
        releases = {release["version"]: release for release in dataset.releases}
        rows = [{**deploy, "release_version": version} for version, deploys in dataset.deploys.items()
                for deploy in listed_deploys(releases[version], deploys)]
    elif stream == "organization_stats":
        rows = usage_rows(dataset)
    else:
        raise KeyError(stream)
    return [public(row) for row in rows]


# The request window an issue record was read in: not part of ground_truth() (it depends on
# when the sync ran), checked against the requests instead.
ISSUE_WINDOW_BOUNDS = ("windowStart", "windowEnd")


def synced_issue(issue: Mapping[str, Any], window: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """An issue as the connector emits it: its totals (Sentry's `lifetime`) at the top, `lastSeen`
    as of the window, the window's own figures as window*. Without a window, the window holds
    every event (the default 90-day window over the dataset's 80 days)."""
    events = timeline_of(issue)
    bounds = (parse_datetime(window[0]).timestamp(), parse_datetime(window[1]).timestamp()) if window else (float("-inf"), float("inf"))
    in_window = [(t, user) for t, user in events if bounds[0] <= t < bounds[1]]
    seen = {
        "count": str(issue["count"]),
        "userCount": len({user for _, user in events if user is not None}),
        "firstSeen": issue["firstSeen"],
        "lastSeen": second(max(t for t, _ in in_window)) if in_window else None,
    }
    record = {
        **issue,
        **seen,
        "lifetime": {**seen, "lastSeen": second(max(t for t, _ in events)), "stats": None},
        "windowCount": str(len(in_window)),
        "windowUserCount": len({user for _, user in in_window if user is not None}),
        "windowFirstSeen": second(min(t for t, _ in in_window)) if in_window else None,
        "filtered": None,
    }
    if window:
        record.update(windowStart=window[0], windowEnd=window[1])
    return public(record)


def second(epoch_second: int) -> str:
    return format_datetime(datetime.fromtimestamp(epoch_second, timezone.utc))


def usage_rows(dataset: Dataset) -> List[Dict[str, Any]]:
    """stats_v2 totals per day, category, outcome and project (error categories count as 'error')."""
    totals: Dict[tuple, int] = {}
    for row in dataset.usage:
        category = "error" if row["category"] in ("error", "default", "security") else row["category"]
        key = (row["date"], category, row["outcome"], row["project_id"])
        totals[key] = totals.get(key, 0) + row["quantity"]
    return [dict(zip(("date", "category", "outcome", "project_id", "quantity"), key + (quantity,))) for key, quantity in totals.items()]


def primary_key_of(stream: str) -> List[List[str]]:
    """A stream's primary key; an explore row stream (explore_<name>) is keyed by id."""
    if stream.startswith("explore_"):
        return [["id"]]
    return PRIMARY_KEYS.get(stream, [[STREAMS[stream][0]]])


def key_of(stream: str, record: Mapping[str, Any]) -> tuple:
    return tuple(str(record[path[0]]) for path in primary_key_of(stream))


def final_state(output: EntrypointOutput, stream: str) -> Any:
    states = [m.state.stream.stream_state for m in output.state_messages if m.state.stream.stream_descriptor.name == stream]
    assert states, f"no state emitted for {stream}"
    value = states[-1]
    return value.__dict__ if hasattr(value, "__dict__") else value


def error_messages(output: EntrypointOutput) -> List[str]:
    return [m.trace.error.message for m in output.errors]


def run_cli(args: List[str]) -> tuple:
    """Runs the `source-sentry` command in-process: (messages as dicts, exit code)."""
    import contextlib
    import io
    import json

    from airbyte_cdk.test.entrypoint_wrapper import _run_command

    from source_sentry.run import start

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            level = {"WARNING": "WARN"}.get(record.levelname, record.levelname)
            startup_logs.append({"type": "LOG", "log": {"level": level, "message": record.getMessage()}})

    startup_logs: List[Dict[str, Any]] = []
    printed = io.StringIO()
    handler = Collect()
    logging.getLogger("airbyte").addHandler(handler)
    try:
        with contextlib.redirect_stdout(printed):
            source = start(args)
    finally:
        logging.getLogger("airbyte").removeHandler(handler)
    messages = startup_logs + [json.loads(line) for line in printed.getvalue().splitlines()]
    if source is None:
        return messages, 0 if args[:1] == ["check"] else 1
    output = _run_command(source, args, expecting_exception=True)
    messages += [AirbyteMessageSerializer.dump(message) for message in output.get_message_iterator()]
    return messages, 1 if output.errors else 0


def write_json(path, value: Any) -> str:
    import json

    with open(path, "w") as file:
        file.write(value if isinstance(value, str) else json.dumps(value))
    return str(path)

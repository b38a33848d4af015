"""Saved state that cannot be trusted never ends a sync, and state kept from an earlier version or
project selection still applies.

Two steps, both before the CDK's cursors read the state:
- `read_state_file` (SourceSentry.read_state), `state_messages`: the file's shape. Airbyte's legacy one-object state
  is turned into per-stream messages; what is not a list of per-stream messages is ignored.
- `SavedStateMigration`, every stream's `state_migrations` entry in the manifest: each stream's
  value. A cursor that is not a date-time or lies in the future drops that stream's state, with a
  warning naming the stream and the reason: the stream syncs again from the start date, which loses
  no data (the CDK would end the sync with "Something went wrong in the connector"). The 1.0.0
  releases state and per-project keys are migrated. The flat per-stream format of the earlier
  Sentry connector (`{"dateCreated": "..."}`) is valid as it is: the CDK applies it to every
  partition of the stream.
"""
from __future__ import annotations

import json
import logging
from dataclasses import InitVar, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterable, List, Mapping, Optional

from airbyte_cdk.models import AirbyteStateMessage, AirbyteStateMessageSerializer
from airbyte_cdk.sources.declarative.migrations.state_migration import StateMigration

from source_sentry.projects import remember_saved_state

logger = logging.getLogger("airbyte")

# Keys the CDK writes beside cursor values.
_BOOKKEEPING_KEYS = {"use_global_cursor", "lookback_window", "parent_state", "__ab_no_cursor_state_message", "__ab_full_refresh_sync_complete"}
# Clocks differ a little; a cursor further ahead than this cannot come from a real sync.
_CLOCK_SKEW = timedelta(hours=1)


class InvalidState(ValueError):
    pass


def read_state_file(path: str) -> List[AirbyteStateMessage]:
    """The per-stream state messages of a state file (json.load: the CDK's reader is private)."""
    with open(path) as file:
        try:
            raw = json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f"Could not read json file {path}: {error}. Please ensure that it is a valid JSON.") from None
    return state_messages(raw)


def state_messages(raw: Any) -> List[AirbyteStateMessage]:
    """The per-stream state messages of a parsed state file."""
    if raw is None or raw == [] or raw == {}:
        return []
    if isinstance(raw, Mapping):
        logger.warning("Saved state is in Airbyte's legacy format (one object for all streams): migrating it per stream.")
        raw = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": value}} for name, value in raw.items()]
    if not isinstance(raw, list):
        logger.warning(f"Saved state is a {type(raw).__name__}, not a list of state messages: ignoring it, every stream syncs from the start date.")
        return []
    return [message for message in (_per_stream_message(item) for item in raw) if message is not None]


def _per_stream_message(item: Any) -> Optional[AirbyteStateMessage]:
    stream = item.get("stream") if isinstance(item, Mapping) else None
    name = stream.get("stream_descriptor", {}).get("name") if isinstance(stream, Mapping) else None
    if not isinstance(name, str) or item.get("type", "STREAM") != "STREAM":
        logger.warning(f"Ignoring a saved state entry that is not a per-stream state message: {str(item)[:200]}")
        return None
    value = stream.get("stream_state")
    if value in (None, {}):
        return None
    if not isinstance(value, Mapping):
        _warn_dropped(name, f"expected an object, got {type(value).__name__}")
        return None
    try:
        return AirbyteStateMessageSerializer.load(item)
    except ValueError as error:  # serpyco-rs's ValidationError is one
        _warn_dropped(name, str(error).replace("\n", " "))
        return None


@dataclass
class SavedStateMigration(StateMigration):
    """Checks and migrates one stream's saved state before its cursor reads it. The CDK builds it
    with the stream's parameters (its name) and the transformed config (`project_slugs`).

    Why Python: the one declarative state migration, LegacyToPerPartitionStateMigration, copies a
    flat state into every partition (which the CDK also does by itself); it checks nothing."""

    config: Mapping[str, Any]
    parameters: InitVar[Mapping[str, Any]]

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._stream = parameters.get("name", "?")

    def should_migrate(self, stream_state: Mapping[str, Any]) -> bool:
        return bool(stream_state)

    def migrate(self, stream_state: Mapping[str, Any]) -> Mapping[str, Any]:
        migrated = self._migrate(stream_state)
        # the events stream's router skips projects by their saved cursors (projects.py)
        remember_saved_state(self.config, self._stream, migrated)
        return migrated

    def _migrate(self, stream_state: Mapping[str, Any]) -> Mapping[str, Any]:
        try:
            _check_stream_state(stream_state, datetime.now(timezone.utc) + _CLOCK_SKEW)
            if self._stream == "releases" and "states" in stream_state:
                return _one_release_listing(stream_state)
        except (InvalidState, ValueError, TypeError, KeyError) as error:
            _warn_dropped(self._stream, str(error))
            return {}
        return _keyed_by_selection(stream_state, bool(self.config.get("project_slugs")))


def _warn_dropped(stream: str, reason: str) -> None:
    logger.warning(f"Ignoring the saved state of stream '{stream}' ({reason}): it syncs again from the start date.")


def _one_release_listing(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """Version 1.0.0 listed releases once per status and kept a cursor for each; they are one
    listing now. The older cursor of the two is kept, so no release is skipped (the newer ones are
    read again once). A state without both cannot say what was read: it is dropped."""
    cursors = {entry["partition"].get("status"): entry.get("cursor", {}).get("dateCreated") for entry in value["states"]}
    if not (cursors.get("open") and cursors.get("archived")):
        raise InvalidState("it has no cursor for open and archived releases both")
    oldest = min((cursors["open"], cursors["archived"]), key=_parse)
    logger.info(f"Saved state of stream 'releases' is per release status (version 1.0.0): resuming from the older cursor, {oldest}.")
    return {"dateCreated": oldest}


def _keyed_by_selection(state: Mapping[str, Any], projects_selected: bool) -> Mapping[str, Any]:
    """Per-project state as the current project selection keys it.

    The CDK keys a project's state by its parent partition, which is the slug when projects are
    configured and '*' when the whole organization is listed; and it starts a project it has no
    state for from the highest cursor of all projects (the top-level "state"), so a newly added
    project would lose its history. Each entry is re-keyed, and that fallback removed so a new
    project syncs from the start date."""
    entries = state.get("states")
    if not entries or state.get("use_global_cursor"):
        return state
    migrated: Dict[str, Any] = {key: value for key, value in state.items() if key not in ("state", "states")}
    migrated["states"] = [_keyed_entry(entry, projects_selected) for entry in entries]
    return migrated


def _keyed_entry(entry: Mapping[str, Any], projects_selected: bool) -> Mapping[str, Any]:
    partition = entry.get("partition", {})
    parent = partition.get("parent_slice")
    if not (isinstance(parent, Mapping) and "project_slug" in parent and "project" in partition):
        return entry
    slug = partition["project"] if projects_selected else "*"
    return {**entry, "partition": {**partition, "parent_slice": {**parent, "project_slug": slug}}}


def _check_stream_state(value: Any, latest: datetime) -> None:
    if not isinstance(value, Mapping):
        raise InvalidState(f"expected an object, got {type(value).__name__}")
    if "states" in value:
        partitions = value["states"]
        if not isinstance(partitions, list):
            raise InvalidState("'states' is not a list")
        for entry in partitions:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("partition"), Mapping):
                raise InvalidState(f"malformed partition entry {str(entry)[:100]}")
            _check_cursor_values(entry.get("cursor", {}), latest)
        _check_cursor_values(value.get("state", {}), latest)
    else:
        _check_cursor_values(value, latest)


def _check_cursor_values(cursor: Any, latest: datetime) -> None:
    if not isinstance(cursor, Mapping):
        raise InvalidState(f"cursor {str(cursor)[:100]} is not an object")
    for key, raw in _cursor_items(cursor):
        moment = _parse(raw)
        if moment is None:
            raise InvalidState(f"{key}={raw!r} is not a date-time")
        if moment > latest:
            raise InvalidState(f"{key}={raw!r} is in the future")


def _cursor_items(cursor: Mapping[str, Any]) -> Iterable[tuple]:
    return ((key, value) for key, value in cursor.items() if key not in _BOOKKEEPING_KEYS and key != "states" and key != "state")


def _parse(raw: Any) -> Optional[datetime]:
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

"""Saved state is checked before the CDK sees it.

Why Python: the declarative language has no hook that inspects a saved state before the cursors
parse it, and the CDK ends a sync on a malformed value ("Something went wrong in the connector").
A state that cannot be trusted is dropped for its stream only, with a warning naming the stream and
the reason: that stream syncs again from the start date, which loses no data. The flat per-stream
format of the earlier Sentry connector (`{"dateCreated": "..."}`) is valid: the CDK applies it to
every partition of the stream.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, List, Mapping, Optional

from airbyte_cdk.models import AirbyteStateMessage, AirbyteStateMessageSerializer

logger = logging.getLogger("airbyte")

# Keys the CDK writes beside cursor values.
_BOOKKEEPING_KEYS = {"use_global_cursor", "lookback_window", "parent_state", "__ab_no_cursor_state_message", "__ab_full_refresh_sync_complete"}
# Clocks differ a little; a cursor further ahead than this cannot come from a real sync.
_CLOCK_SKEW = timedelta(hours=1)


class InvalidState(ValueError):
    pass


def sanitize_state(raw: Any) -> List[AirbyteStateMessage]:
    """Returns the per-stream state messages worth keeping from a parsed state file."""
    if raw is None or raw == [] or raw == {}:
        return []
    if isinstance(raw, Mapping):
        # Airbyte's legacy state: one object keyed by stream name.
        logger.warning("Saved state is in Airbyte's legacy format (one object for all streams): migrating it per stream.")
        raw = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": value}} for name, value in raw.items()]
    if not isinstance(raw, list):
        logger.warning(f"Saved state is a {type(raw).__name__}, not a list of state messages: ignoring it, every stream syncs from the start date.")
        return []
    return [message for message in (_sanitize_message(item) for item in raw) if message is not None]


def _sanitize_message(item: Any) -> Optional[AirbyteStateMessage]:
    stream = item.get("stream") if isinstance(item, Mapping) else None
    name = stream.get("stream_descriptor", {}).get("name") if isinstance(stream, Mapping) else None
    if not isinstance(name, str) or item.get("type", "STREAM") != "STREAM":
        logger.warning(f"Ignoring a saved state entry that is not a per-stream state message: {str(item)[:200]}")
        return None
    value = stream.get("stream_state")
    if value in (None, {}):
        return None
    try:
        _check_stream_state(value, datetime.now(timezone.utc) + _CLOCK_SKEW)
        if name == "releases" and "states" in value:
            item = {**item, "stream": {**stream, "stream_state": _one_release_listing(value)}}
        return AirbyteStateMessageSerializer.load(item)
    except (InvalidState, ValueError, TypeError, KeyError) as error:
        logger.warning(f"Ignoring the saved state of stream '{name}' ({error}): it syncs again from the start date.")
        return None


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


def align_with_projects(messages: List[AirbyteStateMessage], project_slugs: List[str]) -> List[AirbyteStateMessage]:
    """Keeps per-project state valid when the project selection changes.

    Why Python: the CDK keys a project's state by its parent partition, which is the slug when
    projects are configured and '*' when the whole organization is listed; and it starts a project
    it has no state for from the highest cursor of all projects, so a newly added project would
    lose its history. Here each entry is keyed as the current configuration will key it, and that
    fallback is removed so a new project syncs from the start date.
    """
    return [_align(message, project_slugs) for message in messages]


def _align(message: AirbyteStateMessage, project_slugs: List[str]) -> AirbyteStateMessage:
    raw = AirbyteStateMessageSerializer.dump(message)
    state = (raw.get("stream") or {}).get("stream_state")
    entries = state.get("states") if isinstance(state, dict) else None
    if not entries or state.get("use_global_cursor"):
        return message
    for entry in entries:
        partition = entry.get("partition", {})
        parent = partition.get("parent_slice")
        if isinstance(parent, dict) and "project_slug" in parent and "project" in partition:
            parent["project_slug"] = partition["project"] if project_slugs else "*"
    state.pop("state", None)
    return AirbyteStateMessageSerializer.load(raw)

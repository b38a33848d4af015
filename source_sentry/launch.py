"""Builds the source from the command's arguments and runs the CDK's launcher (run.py calls it)."""
from __future__ import annotations

import gc
import sys
from typing import List, Optional

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint, launch
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteMessageSerializer,
    FailureType,
    Status,
    Type,
)
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_sentry.source import SourceSentry


def build_source(args: List[str]) -> SourceSentry:
    """CDK 7 sources take config, catalog and state at construction: read them from the arguments."""
    config_path: Optional[str] = AirbyteEntrypoint.extract_config(args)
    catalog_path: Optional[str] = AirbyteEntrypoint.extract_catalog(args)
    state_path: Optional[str] = AirbyteEntrypoint.extract_state(args)
    return SourceSentry(
        config=SourceSentry.read_config(config_path) if config_path else None,
        catalog=SourceSentry.read_catalog(catalog_path) if catalog_path else None,
        state=SourceSentry.read_state(state_path) if state_path else None,
    )


def start(args: List[str]) -> Optional[SourceSentry]:
    """The source for these arguments, or None after printing why it cannot start: a bad config,
    an unreadable catalog or state file get one clear message instead of a traceback."""
    try:
        return build_source(args)
    except Exception as error:
        if not isinstance(error, AirbyteTracedException):
            error = AirbyteTracedException(
                message=f"Could not start the Sentry source: {error}",
                internal_message=str(error),
                failure_type=FailureType.config_error,
            )
        if args[:1] == ["check"]:
            status = AirbyteConnectionStatus(status=Status.FAILED, message=error.message)
            _print(AirbyteMessage(type=Type.CONNECTION_STATUS, connectionStatus=status))
        else:
            _print(error.as_airbyte_message())
        return None


def launch_source(args: List[str]) -> None:
    source = start(args)
    if source is None:
        sys.exit(0 if args[:1] == ["check"] else 1)  # a failed check is an answer, not a crash
    _spare_startup_objects_from_gc()
    launch(source, args)


def _spare_startup_objects_from_gc() -> None:
    """Why: the CDK's modules and models and the streams built from the manifest are over a
    hundred thousand objects that live as long as the process. Python's cyclic GC walked them all
    on each full collection, and parsing a page of 100 full events (thousands of new dicts) sets
    collections off: on 20,000 events (bench scenario 1) that cost 1.7 CPU-s of 6.3. Frozen, they
    are never walked again; records are still freed by reference counting as soon as emitted.
    run.py pauses the GC during start-up; it runs again from here on."""
    gc.freeze()
    gc.enable()


def _print(message: AirbyteMessage) -> None:
    print(orjson.dumps(AirbyteMessageSerializer.dump(message)).decode())

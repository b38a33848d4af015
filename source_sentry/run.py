"""Entry point of the `source-sentry` command (spec, check, discover, read)."""
from __future__ import annotations

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


def run(args: Optional[List[str]] = None) -> None:
    args = sys.argv[1:] if args is None else args
    try:
        source = build_source(args)
    except Exception as error:
        # A bad config, or an unreadable catalog or state file: one clear message, not a traceback.
        if not isinstance(error, AirbyteTracedException):
            error = AirbyteTracedException(
                message=f"Could not start the Sentry source: {error}",
                internal_message=str(error),
                failure_type=FailureType.config_error,
            )
        if args and args[0] == "check":
            status = AirbyteConnectionStatus(status=Status.FAILED, message=error.message)
            _print(AirbyteMessage(type=Type.CONNECTION_STATUS, connectionStatus=status))
            return
        _print(error.as_airbyte_message())
        sys.exit(1)
    launch(source, args)


def _print(message: AirbyteMessage) -> None:
    print(orjson.dumps(AirbyteMessageSerializer.dump(message)).decode())


if __name__ == "__main__":
    run()

"""Entry point of the `source-sentry` command (spec, check, discover, read)."""
from __future__ import annotations

import sys
from typing import List, Optional

from airbyte_cdk.entrypoint import AirbyteEntrypoint, launch

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


def run() -> None:
    args = sys.argv[1:]
    launch(build_source(args), args)


if __name__ == "__main__":
    run()

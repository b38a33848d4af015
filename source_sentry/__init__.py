"""source-sentry: an Airbyte source for Sentry. The connector is manifest.yaml; see source.py."""
from typing import Any

__all__ = ["SourceSentry"]


def __getattr__(name: str) -> Any:
    # Imported on first use, so that the `source-sentry` command can answer `spec` without
    # the CDK and pause the GC before the CDK is imported (see run.py).
    if name == "SourceSentry":
        from source_sentry.source import SourceSentry

        return SourceSentry
    raise AttributeError(f"module 'source_sentry' has no attribute {name!r}")

from source_sentry.source import SourceSentry

__all__ = ["SourceSentry"]

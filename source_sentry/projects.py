"""The project selection, fetched once per read and shared by every project stream.

Why Python: the declarative SubstreamPartitionRouter reads its parent stream once per child stream,
so project_detail, events, issues, project_keys and environments each fetched the selection again
(each configured slug by itself, or the organization's project list). The CDK's way to share a
parent's pages is its requests cache, which this connector turns off for the selection: the cache
stores a 200 before the error handler rejects its body, so a retry read the broken body back
instead of reaching Sentry (manifest.yaml, no_parent_cache). The manifest cannot say "read this
parent once and hand its records to several streams"; `SharedProjectSelection`, a
CustomPartitionRouter, wraps the declarative router (kept as it is: the ReadableProjects filter, a
404 for an unknown slug, the error handler) and shares what it yields.

Scope: one read. The result is kept per normalized config object: the CDK builds every component
of a source from the one dict its constructor makes (ConcurrentDeclarativeSource
_migrate_and_transform_config copies the config it is given), so all streams of one read see the
same object, and two sources never share one, even with equal configs (tests run many reads in one
process, against changing data). SourceSentry ends the scope when its read or check ends
(`end_scope`); a scope holds its config, so the object's id cannot be reused while the entry lives,
and at most SCOPES_KEPT scopes are kept for callers that never end theirs (a dropped scope only
costs a second fetch).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import InitVar, dataclass
from typing import Any, Iterable, List, Mapping, Optional

from airbyte_cdk.sources.declarative.partition_routers.partition_router import PartitionRouter
from airbyte_cdk.sources.types import Config, StreamSlice, StreamState

SCOPES_KEPT = 16


class _Scope:
    """What one read shares: the selection's slices, or the error that ended its fetch."""

    def __init__(self, config: Config) -> None:
        self.config = config  # held: the id stays this object's while the scope lives
        self.lock = threading.Lock()
        self.slices: Optional[List[StreamSlice]] = None
        self.error: Optional[BaseException] = None


_scopes: "OrderedDict[int, _Scope]" = OrderedDict()
_scopes_lock = threading.Lock()


def scope_of(config: Config) -> _Scope:
    with _scopes_lock:
        scope = _scopes.get(id(config))
        if scope is None or scope.config is not config:
            scope = _scopes[id(config)] = _Scope(config)
            while len(_scopes) > SCOPES_KEPT:
                _scopes.popitem(last=False)
        else:
            _scopes.move_to_end(id(config))
        return scope


def end_scope(config: Config) -> None:
    """Forgets what the read with this config shared (SourceSentry calls it when a read or check ends)."""
    with _scopes_lock:
        scope = _scopes.get(id(config))
        if scope is not None and scope.config is config:
            del _scopes[id(config)]


@dataclass
class SharedProjectSelection(PartitionRouter):
    """The slices of `router` (the declarative per-project router), computed by the first stream
    that asks and handed to the others of the same read. Streams generate their partitions in
    several threads: the first one fetches while holding the scope's lock, the others wait for it.
    A failed fetch (after the error handler's retries) fails every stream that asks, with the same
    error, without fetching again."""

    router: PartitionRouter
    config: Config
    parameters: InitVar[Mapping[str, Any]] = None

    def stream_slices(self) -> Iterable[StreamSlice]:
        scope = scope_of(self.config)
        with scope.lock:
            if scope.slices is None and scope.error is None:
                try:
                    scope.slices = list(self.router.stream_slices())
                except Exception as error:
                    scope.error = error
            if scope.error is not None:
                raise scope.error
            slices = scope.slices
        yield from slices

    def get_stream_state(self) -> Optional[Mapping[str, StreamState]]:
        return self.router.get_stream_state()

    def get_request_params(self, *, stream_state=None, stream_slice=None, next_page_token=None) -> Mapping[str, Any]:
        return self.router.get_request_params(stream_state=stream_state, stream_slice=stream_slice, next_page_token=next_page_token)

    def get_request_headers(self, *, stream_state=None, stream_slice=None, next_page_token=None) -> Mapping[str, Any]:
        return self.router.get_request_headers(stream_state=stream_state, stream_slice=stream_slice, next_page_token=next_page_token)

    def get_request_body_data(self, *, stream_state=None, stream_slice=None, next_page_token=None):
        return self.router.get_request_body_data(stream_state=stream_state, stream_slice=stream_slice, next_page_token=next_page_token)

    def get_request_body_json(self, *, stream_state=None, stream_slice=None, next_page_token=None) -> Mapping[str, Any]:
        return self.router.get_request_body_json(stream_state=stream_state, stream_slice=stream_slice, next_page_token=next_page_token)

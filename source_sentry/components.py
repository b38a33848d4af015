"""The one custom component: de-duplication of records within a sync.

Why Python: Sentry pages most lists with offset cursors, so a record that arrives while a listing is
paged shifts it (an event stored late with a timestamp inside the pinned window, a new release): a
record can come back on the next page. The declarative language has no record filter with memory.
Builder users, who cannot load custom components, may see such a repeat (destinations that
de-duplicate on the primary key remove it).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Set, Tuple

from airbyte_cdk.sources.declarative.extractors.record_filter import RecordFilter
from airbyte_cdk.sources.types import StreamSlice, StreamState


@dataclass
class DeduplicateRecords(RecordFilter):
    """Drops a record whose id this partition of the stream has already emitted in this sync;
    applies the optional `condition` like a plain RecordFilter. Records without an id pass."""

    _seen: Set[Tuple[str, str]] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def filter_records(
        self,
        records: Iterable[Mapping[str, Any]],
        stream_state: StreamState,
        stream_slice: Optional[StreamSlice] = None,
        next_page_token: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Mapping[str, Any]]:
        if self.condition:
            records = super().filter_records(records, stream_state, stream_slice, next_page_token)
        partition = repr(sorted(stream_slice.partition.items())) if stream_slice else ""
        for record in records:
            record_id = record.get("id")
            if record_id is None:
                yield record
                continue
            key = (partition, str(record_id))
            with self._lock:
                if key in self._seen:
                    continue
                self._seen.add(key)
            yield record

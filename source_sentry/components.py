"""The one custom record filter: de-duplication of records repeated by a shifting listing.

Why Python: Sentry pages most lists with offset cursors, so a record that arrives while a listing is
paged shifts it (an event stored late with a timestamp inside the pinned window, a new release): the
last records of a page come back at the top of the next one. The declarative language has no record
filter with memory. Builder users, who cannot load custom components, may see such a repeat
(destinations that de-duplicate on the primary key remove it).
"""
from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Deque, FrozenSet, Iterable, Mapping, Optional, Union

from airbyte_cdk.sources.declarative.extractors.record_filter import RecordFilter
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString
from airbyte_cdk.sources.types import StreamSlice, StreamState

# A shift repeats records of the page just before; the ids of a few pages are remembered per slice,
# so memory stays flat however many records a sync reads (up to 300 arrivals between two pages).
PAGES_REMEMBERED = 3
# Slices being read at once are at most the worker count (20); older ones are forgotten.
SLICES_REMEMBERED = 64


@dataclass
class DeduplicateRecords(RecordFilter):
    """Drops a record whose id the same slice emitted on one of its previous pages; applies the
    optional `condition` like a plain RecordFilter. Records without an id pass.

    `pages_remembered` (interpolated with the stream's parameters; default PAGES_REMEMBERED): how many
    earlier pages of a slice are remembered. Explore streams remember every page since a pagination
    reset, whose first page repeats the rows of the instant it restarts at."""

    pages_remembered: Union[int, str] = PAGES_REMEMBERED
    _pages: "OrderedDict[str, Deque[FrozenSet[str]]]" = field(default_factory=OrderedDict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self._parameters = parameters

    def filter_records(
        self,
        records: Iterable[Mapping[str, Any]],
        stream_state: StreamState,
        stream_slice: Optional[StreamSlice] = None,
        next_page_token: Optional[Mapping[str, Any]] = None,
    ) -> Iterable[Mapping[str, Any]]:
        if self.condition:
            records = super().filter_records(records, stream_state, stream_slice, next_page_token)
        remembered = self._remembered()
        key = repr((sorted(stream_slice.partition.items()), sorted(stream_slice.cursor_slice.items()))) if stream_slice else ""
        with self._lock:
            previous = self._pages.get(key)
            if previous is None:
                previous = self._pages[key] = deque(maxlen=remembered)
                if len(self._pages) > SLICES_REMEMBERED:
                    self._pages.popitem(last=False)
            else:
                self._pages.move_to_end(key)
            seen = frozenset().union(*previous)
        page = set()
        for record in records:
            record_id = record.get("id")
            if record_id is None:
                yield record
                continue
            record_id = str(record_id)
            if record_id in seen or record_id in page:
                continue
            page.add(record_id)
            yield record
        with self._lock:
            previous.append(frozenset(page))

    def _remembered(self) -> int:
        if isinstance(self.pages_remembered, int):
            return self.pages_remembered
        count = int(InterpolatedString.create(self.pages_remembered, parameters=self._parameters).eval(self.config))
        self.pages_remembered = count
        return count

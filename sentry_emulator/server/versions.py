"""Behaviours of older Sentry versions, for the self-hosted installs that run them for years.

``SentryEmulator(dataset, sentry_version="21.5.0")`` answers like that version where a behaviour
the connector depends on changed; ``None`` (the default) is current Sentry. Each behaviour names
the version that changed it and the source it was read in. Versions are self-hosted release tags;
a change is placed by the date its pull request was merged against the dates of the tags (the
release's code itself was not read), see the notes in each property.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple


def parse_version(text: str) -> Tuple[int, ...]:
    """"21.5.0" -> (21, 5, 0); a suffix such as "-rc1" or ".dev0" is ignored."""
    parts = []
    for piece in text.strip().split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
    if not parts:
        raise ValueError(f"not a Sentry version: {text!r}")
    return tuple(parts)


@dataclass(frozen=True)
class SentryBehaviour:
    """What one Sentry version does where the connector depends on it (None: current Sentry)."""

    version: Optional[Tuple[int, ...]] = None

    @classmethod
    def of(cls, version: Optional[str]) -> "SentryBehaviour":
        return cls(parse_version(version) if version else None)

    def _before(self, *release: int) -> bool:
        return self.version is not None and self.version < release

    @property
    def events_ignore_dates(self) -> bool:
        """The project events endpoint reads no date parameter (start, end and statsPeriod are all
        ignored: events come from the whole retention, newest first). Date filtering was added by
        getsentry/sentry#96658 (merged end of July 2025): self-hosted 25.8.0 and later filter.
        Older versions of src/sentry/api/endpoints/project_events.py ProjectEventsEndpoint.get."""
        return self._before(25, 8, 0)

    @property
    def stats_end_inclusive(self) -> bool:
        """stats_v2 adds one second to an explicit ``end`` and rounds the range up to whole
        intervals counted back from the rounded-up end (an end in the future becomes the next
        full minute): start=D 00:00, end=D+1 00:00, interval=1d covers two days. Changed by
        getsentry/sentry#60466 (merged 2023-11-27): self-hosted 23.12.0 and later use the
        exclusive aligned end. src/sentry/snuba/sessions_v2.py get_constrained_date_range (the
        "+1 second" version)."""
        return self._before(23, 12, 0)

    @property
    def releases_by_coalesced_date(self) -> bool:
        """The organization releases list orders sort=date by COALESCE(dateReleased, dateCreated)
        and applies start/end to that date; it has no ``status`` filter (every release is
        listed). getsentry/sentry#26104 (merged 2021-05-18) ordered by dateCreated only:
        self-hosted 21.6.0 and later. src/sentry/api/endpoints/organization_releases.py of that
        time (OrganizationReleasesEndpoint.get, add_date_filter_to_queryset). When the status
        filter appeared was not dated: it is tied to the same version here."""
        return self._before(21, 6, 0)

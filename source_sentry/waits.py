"""Every wait says what it waits for, why, and until when, and says it again at least once a minute.

Why Python: the CDK logs one line when a retry's back-off starts, "UserDefinedBackoffException:
Rate limit exceeded (HTTP 503). Retrying in 257 seconds." (airbyte_cdk/sources/streams/http/
rate_limiting.py, user_defined_backoff_handler): it calls every error a rate limit, names neither
the request nor the end of the wait, and then sleeps in silence, up to 257 s with the default
back-off and up to 600 s for a proxy's Retry-After. metadata.yaml allows 120 s between messages
(maxSecondsBetweenMessages) before the platform may take the connector for hung. No manifest
component can log during a wait, so:

- `AnnouncedBackoff` wraps the manifest's back-off strategies (SuccessForJsonPages hands it to the
  CDK, parse_once.py): it logs each retry's wait with the request, the reason and the time it
  ends, or that no retry is left, and puts the wait on the board;
- `WaitBoard` keeps the waits in progress; a daemon thread logs each one again every
  REPORT_EVERY_SECONDS until it ends. rate_limits.py puts its waits for Sentry's rate-limit
  window and for a request slot there too.
"""
from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, List, Optional, Sequence, Union

import requests
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy

logger = logging.getLogger("airbyte")

# A wait is reported again after this long: half of metadata.yaml's maxSecondsBetweenMessages.
REPORT_EVERY_SECONDS = 60.0
# The CDK sleeps one second more than a back-off strategy asks (rate_limiting.py, sleep_on_ratelimit:
# "extra second to cover any fractions of second").
CDK_EXTRA_SECOND = 1.0


def clock_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%H:%M:%S UTC")


@dataclass(eq=False)
class Wait:
    what: str  # "to retry GET https://...", "for Sentry's rate-limit window of /events to reset"
    why: str
    until: Optional[float]  # epoch seconds; None when the end is not known
    next_report: float = field(default=0.0)

    def reminder(self, now: float) -> str:
        if self.until is None:
            return f"Still waiting {self.what}: {self.why}."
        return f"Still waiting {self.what} until {clock_time(self.until)} ({max(0.0, self.until - now):.0f} s left): {self.why}."


class WaitBoard:
    """The waits in progress. `due(now)` gives the reminders due at `now`; a daemon thread, running
    while any wait is on the board, logs them (`report=False`: none, tests call `due` with their
    own clock)."""

    def __init__(self, clock: Callable[[], float] = time.time, every: float = REPORT_EVERY_SECONDS, report: bool = True) -> None:
        self.clock = clock
        self._every = every
        self._report_in_thread = report
        self._waits: List[Wait] = []
        self._changed = threading.Condition()
        self._thread: Optional[threading.Thread] = None

    def begin(self, what: str, why: str, until: Optional[float]) -> Wait:
        wait = Wait(what, why, until, next_report=self.clock() + self._every)
        with self._changed:
            self._waits.append(wait)
            if self._thread is None and self._report_in_thread:
                self._thread = threading.Thread(target=self._report, name="source-sentry-waits", daemon=True)
                self._thread.start()
            self._changed.notify_all()
        return wait

    def end(self, wait: Wait) -> None:
        with self._changed:
            if wait in self._waits:
                self._waits.remove(wait)
            self._changed.notify_all()

    def due(self, now: float) -> List[str]:
        """Reminders of the waits whose report is due; waits past their end leave the board."""
        lines = []
        with self._changed:
            self._waits = [wait for wait in self._waits if wait.until is None or wait.until > now]
            for wait in self._waits:
                if wait.next_report <= now:
                    lines.append(wait.reminder(now))
                    wait.next_report = now + self._every
        return lines

    @property
    def waits(self) -> List[Wait]:
        with self._changed:
            return list(self._waits)

    def _report(self) -> None:
        while True:
            for line in self.due(self.clock()):
                logger.info(line)
            with self._changed:
                if not self._waits:
                    self._thread = None
                    return
                now = self.clock()
                next_event = min([w.next_report for w in self._waits] + [w.until for w in self._waits if w.until is not None])
                self._changed.wait(timeout=max(0.01, next_event - now))


BOARD = WaitBoard()

# The request each worker thread is sending (SentryRateLimits.acquire_call notes it): a truncated
# body raises an exception that does not carry its request.
_sending = threading.local()


def note_request(request: Any) -> None:
    _sending.request = request


class AnnouncedBackoff(BackoffStrategy):
    """The manifest's strategies, the first that answers (as the CDK takes them); each wait is
    logged and put on the board, or the end of the retries is logged when none is left."""

    def __init__(self, strategies: Sequence[BackoffStrategy], max_retries: Optional[int], max_time: Optional[float],
                 board: WaitBoard = BOARD) -> None:
        self._strategies = list(strategies)
        self._max_retries = max_retries
        self._max_time = max_time
        self._board = board
        self._lock = threading.Lock()
        self._first_failure: "weakref.WeakKeyDictionary[Any, float]" = weakref.WeakKeyDictionary()  # request -> when its first try failed

    def backoff_time(self, response_or_exception: Optional[Union[requests.Response, requests.RequestException]],
                     attempt_count: int) -> Optional[float]:
        seconds = None
        for strategy in self._strategies:
            seconds = strategy.backoff_time(response_or_exception, attempt_count)
            if seconds:
                break
        request = _request_of(response_or_exception)
        what = f"{request.method} {request.url}" if request is not None else "a request"
        why = failure_reason(response_or_exception)
        now = self._board.clock()
        first = now
        if request is not None:
            with self._lock:
                if attempt_count == 1 or request not in self._first_failure:
                    self._first_failure[request] = now
                first = self._first_failure[request]
        out_of_tries = self._max_retries is not None and attempt_count > self._max_retries
        out_of_time = self._max_time is not None and now - first >= self._max_time
        if out_of_tries or out_of_time:
            spent = f"{attempt_count} tries" if out_of_tries else f"{now - first:.0f} s of retries"
            logger.warning(f"No retry left for {what} after {spent}: {why}. The stream fails; the next sync resumes from its last saved state.")
            return seconds
        if seconds:
            until = now + seconds + CDK_EXTRA_SECOND
            retries = f" of {self._max_retries}" if self._max_retries is not None else ""
            logger.info(f"Retrying {what} at {clock_time(until)}, in {seconds + CDK_EXTRA_SECOND:.1f} s (retry {attempt_count}{retries}): {why}.")
            self._board.begin(f"to retry {what} (retry {attempt_count}{retries})", why, until)
        return seconds


def _request_of(response_or_exception: Any) -> Any:
    request = getattr(response_or_exception, "request", None)
    return request if request is not None else getattr(_sending, "request", None)


def failure_reason(response_or_exception: Any) -> str:
    """Why a request failed, in words."""
    if isinstance(response_or_exception, requests.Response):
        response = response_or_exception
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        if status == 429:
            if response.headers.get("Retry-After"):
                return f"rate limited (429) by a proxy that asks to wait (Retry-After: {response.headers['Retry-After']})"
            if response.headers.get("X-Sentry-Rate-Limit-Reset"):
                return "Sentry's rate limit (429); the next try also waits for its window to reset"
            return "rate limited (429), without a Retry-After"
        if status == 200:
            return "Sentry answered 200 with a body that is not JSON"
        if content_type.startswith("text/html"):
            return f"HTTP {status} with an HTML page (an error page of a proxy in front of Sentry)"
        return f"HTTP {status} from Sentry"
    if isinstance(response_or_exception, requests.exceptions.ChunkedEncodingError):
        return "the answer was cut short (truncated body)"
    if isinstance(response_or_exception, requests.exceptions.Timeout):
        return "no answer in time (timeout)"
    if isinstance(response_or_exception, requests.exceptions.ConnectionError):
        return "the connection failed or was reset"
    return f"{type(response_or_exception).__name__}: {response_or_exception}"

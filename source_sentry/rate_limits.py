"""Pacing from all of Sentry's rate-limit headers.

Why Python: the manifest's API budget (HTTPAPIBudget) reads X-Sentry-Rate-Limit-Remaining and
-Reset only, and assumes a fresh allowance whenever its own window turns over; it knows neither
Sentry's -Limit nor its -ConcurrentLimit. The events endpoint allows one concurrent request per
caller, so concurrent partitions collected 429s that each waited for the window to end (bench
scenario 5: 49 s and 27 429s where the limits allow 18 s). This budget keeps, per endpoint of the
manifest's budget, what Sentry last said: requests left in the window, when it ends, and how many
may run at once; a request waits for the first of these that allows it.

Each worker thread has at most one request in flight, so a thread that asks again has finished
its previous request. A request that ends in an exception (a reset, a truncated body) never
reaches update_from_response (call_rate.py, LimiterMixin.send), so the error handler frees its
slot (`request_ended_without_answer`, called by parse_once.SuccessForJsonPages): otherwise the
last failed try of a stream held its endpoint's slot until STALE_AFTER_SECONDS.

Self-hosted Sentry sends none of these headers (src/sentry/middleware/ratelimit.py,
RatelimitMiddleware.process_view returns first thing `if settings.SENTRY_SELF_HOSTED`): after the
first answer without them an endpoint is not held back, and a 429 (from a proxy there) is paced by
the retry's back-off and the proxy's Retry-After alone. A request that waits here is put on
waits.BOARD, which logs the wait at least once a minute.
"""
from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import requests
from airbyte_cdk.sources.streams.call_rate import AbstractAPIBudget, APIBudget

from source_sentry.waits import BOARD, Wait, WaitBoard, clock_time, note_request

logger = logging.getLogger("airbyte")

# Sentry's header names (every response carries them, 429s included).
LIMIT, REMAINING, RESET = "X-Sentry-Rate-Limit-Limit", "X-Sentry-Rate-Limit-Remaining", "X-Sentry-Rate-Limit-Reset"
CONCURRENT_LIMIT = "X-Sentry-Rate-Limit-ConcurrentLimit"
UNLIMITED = 1_000_000
# A request slot that no response released after this long is taken as lost.
STALE_AFTER_SECONDS = 120.0
# A partition handed over whose endpoint stays idle this long sent no request: the next one goes.
IDLE_HAND_OVER_SECONDS = 2.0


@dataclass
class _Endpoint:
    remaining: Optional[int] = None  # requests left in the current window, as last counted
    reset_at: float = 0.0  # epoch seconds when the current window ends
    # None until Sentry's first answer on the endpoint: one request at a time till then, so that
    # partitions starting side by side do not collect a 429 each before the limit is known.
    concurrent_limit: Optional[int] = None
    in_flight: Dict[int, float] = field(default_factory=dict)  # thread id -> start time
    started: int = 0  # requests that got past the budget, in all
    waiting: int = 0  # requests waiting in acquire_call now


class SentryRateLimits(AbstractAPIBudget):
    """Wraps the manifest's budget: its policies name the endpoints, Sentry's headers pace them."""

    def __init__(self, endpoints_from: APIBudget, board: WaitBoard = BOARD) -> None:
        self._policies = endpoints_from
        self._board = board
        self._endpoints: Dict[int, _Endpoint] = {}
        self._changed = threading.Condition()
        _BUDGETS.add(self)

    def get_matching_policy(self, request: Any) -> Any:
        return self._policies.get_matching_policy(request)

    def acquire_call(self, request: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        note_request(request)
        policy = self.get_matching_policy(request)
        if policy is None:
            return
        me = threading.get_ident()
        with self._changed:
            endpoint = self._endpoints.setdefault(id(policy), _Endpoint())
            self._release_thread(me)
            waiting: Optional[Wait] = None  # on the board (waits.py) while this request waits
            endpoint.waiting += 1
            try:
                while True:
                    now = time.time()
                    for thread, started in list(endpoint.in_flight.items()):
                        if now - started > STALE_AFTER_SECONDS:
                            del endpoint.in_flight[thread]
                    if now >= endpoint.reset_at:
                        endpoint.remaining = None  # a new window: Sentry's next answer will say
                    window_spent = endpoint.remaining is not None and endpoint.remaining <= 0
                    # A new window of an endpoint that counts requests: one goes, the others wait for
                    # its answer. Sent together, their answers come back in any order, and the first
                    # one read may count itself alone (remaining 4 of 5 with 4 in flight): the window
                    # was overrun (429s on issues, 5 a second, in bench scenario 8).
                    window_unknown = endpoint.remaining is None and endpoint.reset_at > 0
                    concurrent_limit = 1 if endpoint.concurrent_limit is None or window_unknown else endpoint.concurrent_limit
                    if not window_spent and len(endpoint.in_flight) < concurrent_limit:
                        break
                    waiting = self._announce(request, endpoint, window_spent, concurrent_limit, waiting)
                    wait = endpoint.reset_at - now if window_spent else STALE_AFTER_SECONDS
                    self._changed.wait(timeout=max(0.05, min(wait, STALE_AFTER_SECONDS)))
            finally:
                endpoint.waiting -= 1
                if waiting is not None:
                    self._board.end(waiting)
            endpoint.in_flight[me] = time.time()
            endpoint.started += 1
            if endpoint.remaining is not None:
                endpoint.remaining -= 1
            self._changed.notify_all()

    def _announce(self, request: Any, endpoint: _Endpoint, window_spent: bool, concurrent_limit: int, waiting: Optional[Wait]) -> Wait:
        """The wait on the board: a spent window is logged when its wait begins (once, not on every
        wake-up) and each minute after; a wait for a request slot, usually short, only each minute."""
        path = _path(request)
        if window_spent:
            what = f"for Sentry's rate-limit window of {path} to reset"
            if waiting is None or waiting.what != what:
                if waiting is not None:
                    self._board.end(waiting)
                logger.info(
                    f"Sentry's rate-limit window for {path} is used up: waiting {max(0.0, endpoint.reset_at - time.time()):.1f} s, "
                    f"until {clock_time(endpoint.reset_at)}, for it to reset."
                )
                return self._board.begin(what, "its requests are used up (X-Sentry-Rate-Limit-Remaining: 0)", endpoint.reset_at)
            waiting.until = endpoint.reset_at
            return waiting
        what = f"for a free request slot on {path}"
        if waiting is None or waiting.what != what:
            if waiting is not None:
                self._board.end(waiting)
            latest = min(endpoint.in_flight.values(), default=time.time()) + STALE_AFTER_SECONDS
            why = (f"{len(endpoint.in_flight)} request(s) in flight and Sentry allows {concurrent_limit} at a time "
                   f"(X-Sentry-Rate-Limit-ConcurrentLimit); a slot no answer frees by {clock_time(latest)} is taken as lost")
            return self._board.begin(what, why, None)
        return waiting

    def update_from_response(self, request: Any, response: Any) -> None:
        policy = self.get_matching_policy(request)
        if policy is None or not isinstance(response, requests.Response):
            return
        headers = response.headers
        with self._changed:
            endpoint = self._endpoints.setdefault(id(policy), _Endpoint())
            endpoint.in_flight.pop(threading.get_ident(), None)
            reset, remaining = _int(headers.get(RESET)), _int(headers.get(REMAINING))
            if response.status_code == 429 and remaining is None:
                remaining = 0
            if reset is not None and reset > endpoint.reset_at:
                endpoint.reset_at, endpoint.remaining = float(reset), remaining  # a new window
            elif reset is not None and reset < endpoint.reset_at:
                pass  # a late answer from a window already over: what it counted is spent (it used to reopen that window)
            elif remaining is not None:
                # answers arrive out of order: the lowest count is the latest
                endpoint.remaining = remaining if endpoint.remaining is None else min(endpoint.remaining, remaining)
            concurrent = _int(headers.get(CONCURRENT_LIMIT))
            if concurrent:
                endpoint.concurrent_limit = concurrent
            elif endpoint.concurrent_limit is None:
                endpoint.concurrent_limit = UNLIMITED  # a server that sends no limit (self-hosted)
            self._changed.notify_all()

    def requests_started(self, url: str) -> Optional[int]:
        """How many requests to the endpoint of `url` got past the budget so far (None: no policy
        of the manifest's budget names that endpoint)."""
        with self._changed:
            endpoint = self._endpoint_of(url)
            return endpoint.started if endpoint is not None else None

    def wait_for_hand_over(self, url: str, started_before: int, timeout: float = STALE_AFTER_SECONDS) -> None:
        """Returns once a request to the endpoint of `url` has started since `started_before` and no
        request waits for that endpoint (or after `timeout`): see projects.py, partitions handed
        over one at a time."""
        deadline = time.time() + timeout
        idle_since: Optional[float] = None
        with self._changed:
            endpoint = self._endpoint_of(url)
            while endpoint is not None and (endpoint.started <= started_before or endpoint.waiting) and time.time() < deadline:
                # a partition may send no request (nothing left in its window): an endpoint with no
                # request in flight or waiting for IDLE_HAND_OVER_SECONDS takes the next one
                now = time.time()
                idle = not endpoint.waiting and not endpoint.in_flight
                idle_since = (idle_since or now) if idle else None
                if idle_since is not None and now - idle_since >= IDLE_HAND_OVER_SECONDS:
                    return
                self._changed.wait(timeout=max(0.01, min(0.5, deadline - now)))

    def _endpoint_of(self, url: str) -> Optional[_Endpoint]:
        policy = self.get_matching_policy(requests.Request("GET", url).prepare())
        return self._endpoints.setdefault(id(policy), _Endpoint()) if policy is not None else None

    def release_thread(self, thread: int) -> None:
        with self._changed:
            self._release_thread(thread)
            self._changed.notify_all()

    def _release_thread(self, thread: int) -> None:
        for endpoint in self._endpoints.values():
            endpoint.in_flight.pop(thread, None)


_BUDGETS: "weakref.WeakSet[SentryRateLimits]" = weakref.WeakSet()


def request_ended_without_answer() -> None:
    """The calling thread's request ended in an exception: its slot is free (every live budget)."""
    thread = threading.get_ident()
    for budget in list(_BUDGETS):
        budget.release_thread(thread)


def _int(value: Optional[str]) -> Optional[int]:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _path(request: Any) -> str:
    url = getattr(request, "url", "") or ""
    return url.split("?", 1)[0].split("/api/0", 1)[-1]

"""A sync that waits says what for, why and until when, at least once a minute (metadata.yaml allows
120 s between messages). The clock is the test's own: nothing here waits for real minutes."""
from __future__ import annotations

import logging
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import List, Optional

import pytest
import requests
from airbyte_cdk.sources.declarative.requesters.error_handlers.backoff_strategies import (
    ExponentialBackoffStrategy,
    WaitTimeFromHeaderBackoffStrategy,
)
from airbyte_cdk.sources.streams.call_rate import APIBudget, FixedWindowCallRatePolicy, HttpRequestRegexMatcher
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_sentry.rate_limits import SentryRateLimits
from source_sentry.waits import REPORT_EVERY_SECONDS, AnnouncedBackoff, WaitBoard

URL = "https://sentry.io/api/0/projects/acme/web/events/?per_page=100"
START = 1_800_000_000.0  # 2027-01-15T08:00:00Z


class Clock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def answer(status: int, headers: Optional[dict] = None, body: bytes = b"") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = body
    response.request = requests.Request("GET", URL).prepare()
    response.url = URL
    return response


def strategies(backoff_seconds: float = 1.0) -> list:
    """The manifest's: a proxy's Retry-After (below 600 s), else 2^n x retry_backoff_seconds."""
    return [
        WaitTimeFromHeaderBackoffStrategy(header="Retry-After", max_waiting_time_in_seconds=600, parameters={}, config={}),
        ExponentialBackoffStrategy(factor=backoff_seconds, parameters={}, config={}),
    ]


def _utc(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%H:%M:%S UTC")


def messages_over(board: WaitBoard, clock: Clock, until: float, caplog) -> List[tuple]:
    """(time, message) of the announcement and of every reminder, the clock stepped second by second."""
    seen = [(START, record.getMessage()) for record in caplog.records]
    while clock.now < until + 2:
        clock.now += 1
        seen += [(clock.now, line) for line in board.due(clock.now)]
    return seen


def assert_never_silent(seen: List[tuple], until: float) -> None:
    times = [moment for moment, _ in seen] + [until]
    assert max(later - earlier for earlier, later in zip(times, times[1:])) <= REPORT_EVERY_SECONDS


@pytest.mark.parametrize("response, attempt, seconds, why", [
    (answer(503, {"Content-Type": "text/html"}, b"<html>"), 8, 257,
     "HTTP 503 with an HTML page (an error page of a proxy in front of Sentry)"),
    (answer(429, {"Retry-After": "599"}), 1, 600,
     "rate limited (429) by a proxy that asks to wait (Retry-After: 599)"),
    (answer(200, {"Content-Type": "application/json"}, b'[{"id": '), 3, 9,
     "Sentry answered 200 with a body that is not JSON"),
], ids=["retry_8_of_a_503_waits_257_s", "proxy_retry_after_599_s", "a_short_wait_gets_no_reminder"])
def test_given_a_retry_wait_when_it_lasts_then_a_line_at_least_every_minute_says_what_why_and_until_when(
    caplog, response, attempt, seconds, why
):
    clock = Clock()
    board = WaitBoard(clock=clock, report=False)
    backoff = AnnouncedBackoff(strategies(), max_retries=8, max_time=600, board=board)
    caplog.set_level(logging.INFO, logger="airbyte")

    assert backoff.backoff_time(response, attempt) == seconds - 1  # the CDK sleeps a second more
    until = START + seconds
    seen = messages_over(board, clock, until, caplog)

    end = re.escape(f"{seconds:.1f}")
    assert re.fullmatch(
        rf"Retrying GET {re.escape(URL)} at \d\d:\d\d:\d\d UTC, in {end} s \(retry {attempt} of 8\): {re.escape(why)}\.", seen[0][1]
    )
    assert seen[0][1].split(" at ")[1].startswith(_utc(until))
    reminders = [line for _, line in seen[1:]]
    assert len(reminders) == (seconds - 1) // 60  # one a minute while it lasts, none after
    for moment, line in seen[1:]:
        assert line == (
            f"Still waiting to retry GET {URL} (retry {attempt} of 8) until {_utc(until)} "
            f"({until - moment:.0f} s left): {why}."
        )
    assert_never_silent(seen, until)
    assert board.waits == []


def test_given_the_last_try_fails_when_no_retry_is_left_then_that_is_said_and_no_wait_is_announced(caplog):
    board = WaitBoard(clock=Clock(), report=False)
    backoff = AnnouncedBackoff(strategies(), max_retries=8, max_time=600, board=board)
    caplog.set_level(logging.INFO, logger="airbyte")
    backoff.backoff_time(answer(502, {"Content-Type": "text/html"}), 9)
    assert [r.getMessage() for r in caplog.records] == [
        f"No retry left for GET {URL} after 9 tries: HTTP 502 with an HTML page (an error page of a proxy in front of Sentry). "
        "The stream fails; the next sync resumes from its last saved state."
    ]
    assert board.waits == []


def test_given_retries_for_ten_minutes_when_the_cdk_gives_up_then_that_is_said(caplog):
    """The CDK gives a request up once 600 s passed since its first try (max_time), tries left or not."""
    clock = Clock()
    board = WaitBoard(clock=clock, report=False)
    backoff = AnnouncedBackoff(strategies(), max_retries=8, max_time=600, board=board)
    response = answer(429, {"Retry-After": "400"})
    caplog.set_level(logging.INFO, logger="airbyte")
    backoff.backoff_time(response, 1)
    clock.now += 401
    backoff.backoff_time(response, 2)  # 401 s in: one more wait of 401 s is still started
    clock.now += 401
    backoff.backoff_time(response, 3)
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(" ")[0] for line in lines] == ["Retrying", "Retrying", "No"]
    assert lines[2].startswith(f"No retry left for GET {URL} after 802 s of retries: rate limited (429) by a proxy")


def test_given_a_retry_after_of_600_s_or_more_then_the_stream_fails_at_once():
    backoff = AnnouncedBackoff(strategies(), max_retries=8, max_time=600, board=WaitBoard(clock=Clock(), report=False))
    with pytest.raises(AirbyteTracedException, match="longer than the connector is allowed to wait"):
        backoff.backoff_time(answer(429, {"Retry-After": "600"}), 1)


def test_given_a_reset_connection_or_a_truncated_body_then_the_request_is_named():
    """A truncated body raises an exception that carries no request: the budget noted it when it was sent."""
    board = WaitBoard(clock=Clock(), report=False)
    backoff = AnnouncedBackoff(strategies(0.01), max_retries=8, max_time=600, board=board)
    budget = SentryRateLimits(endpoints_from=APIBudget(policies=[]), board=board)
    budget.acquire_call(answer(200).request)
    backoff.backoff_time(requests.exceptions.ChunkedEncodingError("IncompleteRead"), 1)
    backoff.backoff_time(requests.exceptions.ConnectionError("reset", request=answer(200).request), 1)
    assert [wait.what for wait in board.waits] == [f"to retry GET {URL} (retry 1 of 8)"] * 2
    assert [wait.why for wait in board.waits] == ["the answer was cut short (truncated body)", "the connection failed or was reset"]


def events_budget(board: WaitBoard) -> SentryRateLimits:
    policy = FixedWindowCallRatePolicy(next_reset_ts=datetime.now(), period=timedelta(seconds=1), call_limit=1000,
                                       matchers=[HttpRequestRegexMatcher(url_path_pattern="/events$")])
    return SentryRateLimits(endpoints_from=APIBudget(policies=[policy]), board=board)


def wait_in_thread(budget: SentryRateLimits, board: WaitBoard) -> threading.Thread:
    waiter = threading.Thread(target=budget.acquire_call, args=(answer(200).request,), daemon=True)
    waiter.start()
    for _ in range(500):  # until the request waits on the board (at most 5 s)
        if board.waits:
            break
        waiter.join(timeout=0.01)
    return waiter


def test_given_sentrys_window_is_used_up_when_a_request_waits_then_it_says_until_when_and_each_minute_again(caplog):
    clock = Clock(time.time())
    board = WaitBoard(clock=clock, report=False)
    budget = events_budget(board)
    caplog.set_level(logging.INFO, logger="airbyte")
    reset = int(time.time()) + 3600  # a window far in the future: the waiter stays on the board
    budget.acquire_call(answer(200).request)
    budget.update_from_response(answer(200).request, answer(200, {"X-Sentry-Rate-Limit-Remaining": "0", "X-Sentry-Rate-Limit-Reset": str(reset), "X-Sentry-Rate-Limit-ConcurrentLimit": "5"}))
    waiter = wait_in_thread(budget, board)

    [line] = [r.getMessage() for r in caplog.records]
    assert re.fullmatch(
        rf"Sentry's rate-limit window for /projects/acme/web/events/ is used up: waiting 3\d\d\d\.\d s, until {_utc(reset)}, for it to reset\.", line
    )
    clock.now += 60
    assert board.due(clock.now) == [
        f"Still waiting for Sentry's rate-limit window of /projects/acme/web/events/ to reset until {_utc(reset)} "
        f"({reset - clock.now:.0f} s left): its requests are used up (X-Sentry-Rate-Limit-Remaining: 0)."
    ]
    # Sentry opens a new window: the request goes, and leaves the board
    budget.update_from_response(answer(200).request, answer(200, {"X-Sentry-Rate-Limit-Remaining": "9", "X-Sentry-Rate-Limit-Reset": str(reset + 60)}))
    waiter.join(timeout=5)
    assert not waiter.is_alive() and board.waits == []


def test_given_a_request_waits_for_a_free_slot_then_it_is_reported_only_once_it_lasts_a_minute(caplog):
    clock = Clock(time.time())
    board = WaitBoard(clock=clock, report=False)
    budget = events_budget(board)
    caplog.set_level(logging.INFO, logger="airbyte")
    sent, answered = threading.Event(), threading.Event()

    def first_request() -> None:  # in flight until the test lets Sentry answer it
        budget.acquire_call(answer(200).request)
        sent.set()
        answered.wait(timeout=10)
        budget.update_from_response(answer(200).request, answer(200, {"X-Sentry-Rate-Limit-ConcurrentLimit": "1"}))

    holder = threading.Thread(target=first_request, daemon=True)
    holder.start()
    sent.wait(timeout=5)
    waiter = wait_in_thread(budget, board)  # one at a time until Sentry's first answer says more

    assert caplog.records == []  # usually over in moments: no line at first
    clock.now += 60
    [reminder] = board.due(clock.now)
    assert re.fullmatch(
        r"Still waiting for a free request slot on /projects/acme/web/events/: 1 request\(s\) in flight and Sentry "
        r"allows 1 at a time \(X-Sentry-Rate-Limit-ConcurrentLimit\); a slot no answer frees by \d\d:\d\d:\d\d UTC is "
        r"taken as lost\.", reminder
    )
    answered.set()
    waiter.join(timeout=5)
    assert not waiter.is_alive() and board.waits == []


def test_the_board_thread_logs_the_reminders_and_stops_when_no_wait_is_left(caplog):
    class Stepping(Clock):
        def __call__(self) -> float:
            self.now += 61  # each look at the clock is a minute later: ten minutes pass in moments
            return self.now

    board = WaitBoard(clock=Stepping())
    caplog.set_level(logging.INFO, logger="airbyte")
    board.begin("to retry GET x", "HTTP 503 from Sentry", until=START + 600)
    thread = board._thread
    thread.join(timeout=10)
    assert not thread.is_alive() and board.waits == []
    lines = [r.getMessage() for r in caplog.records]
    assert 3 <= len(lines) <= 9 and all(line.startswith("Still waiting to retry GET x until ") for line in lines)



def test_given_a_request_that_ends_without_an_answer_then_its_slot_is_free_at_once(caplog):
    """A reset or truncated answer reaches the error handler, never the budget's update_from_response
    (call_rate.py, LimiterMixin.send): the slot must not stay taken until it counts as lost (120 s),
    which held every other request of the endpoint when it was the last try of a failing stream."""
    from airbyte_cdk.sources.declarative.requesters.error_handlers import DefaultErrorHandler

    from source_sentry.parse_once import SuccessForJsonPages

    board = WaitBoard(report=False)
    budget = events_budget(board)
    handler = SuccessForJsonPages(error_handler=DefaultErrorHandler(parameters={}, config={}), parameters={})

    def last_try_is_reset() -> None:
        budget.acquire_call(answer(200).request)
        handler.interpret_response(requests.exceptions.ConnectionError("reset", request=answer(200).request))

    failing = threading.Thread(target=last_try_is_reset)
    failing.start()
    failing.join()
    other = threading.Thread(target=budget.acquire_call, args=(answer(200).request,), daemon=True)
    other.start()
    other.join(timeout=5)
    assert not other.is_alive(), "the next request waits for the slot of a request that ended in an exception"


def test_given_a_late_answer_from_a_window_already_over_then_it_does_not_reopen_that_window():
    # Answers arrive out of order: one sent at the end of a window can come back after the first
    # answers of the next. Its count is of the old window: taken as current, it made the budget
    # wait for a window already over, or forget what the new one had left (429s in bench scenario 8).
    board = WaitBoard(report=False)
    budget = events_budget(board)
    old_window_end = int(time.time()) + 3600
    headers = {"X-Sentry-Rate-Limit-ConcurrentLimit": "5"}
    budget.acquire_call(answer(200).request)
    budget.update_from_response(answer(200).request, answer(200, {**headers, "X-Sentry-Rate-Limit-Remaining": "4", "X-Sentry-Rate-Limit-Reset": str(old_window_end + 60)}))
    budget.update_from_response(answer(200).request, answer(200, {**headers, "X-Sentry-Rate-Limit-Remaining": "0", "X-Sentry-Rate-Limit-Reset": str(old_window_end)}))

    waiter = threading.Thread(target=budget.acquire_call, args=(answer(200).request,), daemon=True)
    waiter.start()
    waiter.join(timeout=5)

    assert not waiter.is_alive() and board.waits == []  # the new window's 4 requests are left


def test_given_a_new_window_when_requests_go_then_one_goes_first_and_the_others_wait_for_its_answer():
    # Sent together into a new window, answers come back in any order: the first one read can say
    # 4 of 5 left while 3 more are in flight, and the window is overrun (429s).
    board = WaitBoard(report=False)
    budget = events_budget(board)
    headers = {"X-Sentry-Rate-Limit-ConcurrentLimit": "5"}
    budget.acquire_call(answer(200).request)
    budget.update_from_response(answer(200).request, answer(200, {**headers, "X-Sentry-Rate-Limit-Remaining": "3", "X-Sentry-Rate-Limit-Reset": str(int(time.time()) - 1)}))
    sent, answered = threading.Event(), threading.Event()

    def first_request() -> None:  # its thread lives until answered (a thread has one request in flight)
        budget.acquire_call(answer(200).request)
        sent.set()
        answered.wait(timeout=10)

    threading.Thread(target=first_request, daemon=True).start()
    assert sent.wait(timeout=5)  # the window is over: a new one, and this request goes

    second = wait_in_thread(budget, board)
    assert second.is_alive()  # waits for the first one's answer
    budget.update_from_response(answer(200).request, answer(200, {**headers, "X-Sentry-Rate-Limit-Remaining": "4", "X-Sentry-Rate-Limit-Reset": str(int(time.time()) + 60)}))
    second.join(timeout=5)
    answered.set()
    assert not second.is_alive() and board.waits == []


def test_given_a_partition_that_sends_no_request_when_the_next_waits_for_its_turn_then_it_goes_once_the_endpoint_is_idle():
    from source_sentry.rate_limits import IDLE_HAND_OVER_SECONDS

    budget = events_budget(WaitBoard(report=False))
    url = "https://sentry.io/api/0/projects/acme/web/events/"
    started = time.monotonic()
    budget.wait_for_hand_over(url, budget.requests_started(url))  # nothing ever starts
    waited = time.monotonic() - started
    assert IDLE_HAND_OVER_SECONDS <= waited < IDLE_HAND_OVER_SECONDS + 1.5  # not the 120 s of a lost slot

"""Injected faults: rules that pick requests, and what each kind of fault answers or breaks."""
from __future__ import annotations

import math
import random
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .plumbing import Response, internal_error
from .rate_limits import RATE_LIMIT_BODIES, RATE_LIMIT_MESSAGE, RateLimitRule, format_window, rate_limited

if TYPE_CHECKING:
    from .plumbing import Handler

FAULT_KINDS = (
    "500", "502_html", "503", "504", "429", "429_proxy", "429_retry_after", "invalid_json", "reset", "truncated",
    "slow", "latency", "short_page",
)
# Answered by a reverse proxy in front of Sentry: Sentry never sees the request.
PROXY_KINDS = ("502_html", "503", "504", "429_proxy", "429_retry_after")

PROXY_PAGES = {
    429: "429 Too Many Requests",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


@dataclass
class FaultRule:
    path_regex: str
    kind: str
    every: Optional[int] = None
    times: Optional[int] = None
    probability: Optional[float] = None
    seed: int = 0
    delay: float = 0.0
    retry_after: int = 2  # the Retry-After seconds of a "429_retry_after"
    rate_limit_body: Optional[str] = None  # the body shape of a "429" (default: the emulator's)
    matched: int = 0  # matching requests seen
    fired: int = 0  # faults injected
    _rng: random.Random = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._pattern = re.compile(self.path_regex)

    def _consider(self, path: str) -> bool:
        if not self._pattern.search(path):
            return False
        self.matched += 1
        if self.every is not None and self.matched % self.every != 0:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.probability is not None and self._rng.random() >= self.probability:
            return False
        self.fired += 1
        return True


def url_key(path: str, query: Dict[str, List[str]]) -> Tuple[str, Tuple[Tuple[str, Tuple[str, ...]], ...]]:
    return path, tuple(sorted((key, tuple(values)) for key, values in query.items()))


@dataclass
class RetryChain:
    """Faults on one request and on its retries, in turn: the first rule picks the request (its
    path regex and `every`), each later request for the same URL (path and query) gets the next
    rule's fault, until each rule has fired once. A client that retries every failure gets its
    answer on try len(rules) + 1."""

    rules: List[FaultRule]
    url: Optional[tuple] = None  # the URL the first rule picked

    def _consider(self, path: str, query: Dict[str, List[str]]) -> Optional[FaultRule]:
        if self.url is None:
            if not self.rules[0]._consider(path):
                return None
            self.url = url_key(path, query)
            return self.rules[0]
        fired = sum(rule.fired for rule in self.rules)
        if fired == len(self.rules) or url_key(path, query) != self.url:
            return None
        rule = self.rules[fired]
        rule.matched += 1
        rule.fired += 1
        return rule


class FaultInjector:
    """Injects failures into matching requests.

    ``add(path_regex, kind, every=N)`` fails every Nth matching request, ``times=K`` only the first
    K that would fail, ``probability=p`` each with a seeded RNG; they combine. Kinds:

    - ``"500"``: Sentry's ``{"detail": "Internal Error", "errorId": ...}``
    - ``"502_html"``, ``"503"``, ``"504"``: HTML error pages of a reverse proxy (text/html)
    - ``"429"``: Sentry's own 429 (rate_limits.rate_limited: the emulator's body shape, text/html,
      rate-limit headers with the reset in 1 s, no Retry-After); a self-hosted emulator refuses it
    - ``"429_proxy"``: a proxy's 429 HTML page, no Retry-After, no Sentry headers (nginx limit_req)
    - ``"429_retry_after"``: a proxy's 429 with ``Retry-After: <retry_after>`` (text/plain)
    - ``"invalid_json"``: 200 whose JSON body is cut in half
    - ``"reset"``: the connection is closed (TCP RST) without any response
    - ``"truncated"``: Content-Length promises more bytes than are sent, then the connection closes
    - ``"slow"``: sleeps ``delay`` seconds, then answers normally (client timeouts)
    - ``"latency"``: like ``slow``; meant for every request of a benchmark (no selector needed)

    ``add_retries(path_regex, [(kind, options), ...], every=N)`` puts the faults on one request
    and its retries, one after the other (RetryChain).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # kind -> why it cannot happen on this server (a self-hosted Sentry never answers 429 itself)
        self.refused_kinds: Dict[str, str] = {}
        self._rules: List[FaultRule] = []
        self._chains: List[RetryChain] = []
        self._hooks: List[Callable[[str, Dict[str, List[str]]], None]] = []

    def add(
        self,
        path_regex: str,
        kind: str,
        *,
        every: Optional[int] = None,
        times: Optional[int] = None,
        probability: Optional[float] = None,
        seed: int = 0,
        delay: float = 0.0,
        retry_after: int = 2,
        rate_limit_body: Optional[str] = None,
    ) -> FaultRule:
        rule = self._rule(path_regex, kind, every=every, times=times, probability=probability, seed=seed, delay=delay,
                          retry_after=retry_after, rate_limit_body=rate_limit_body)
        with self._lock:
            self._rules.append(rule)
        return rule

    def add_retries(self, path_regex: str, faults: Sequence[Tuple[str, Mapping[str, Any]]], *, every: int = 1) -> List[FaultRule]:
        """The `every`-th request matching `path_regex` gets the first fault, its retries the
        others in turn (each a (kind, options) pair, options as `add` takes them); one rule each."""
        rules = [self._rule(path_regex, kind, **options) for kind, options in faults]
        rules[0].every, rules[0].times = every, 1
        with self._lock:
            self._chains.append(RetryChain(rules))
        return rules

    def _rule(self, path_regex: str, kind: str, *, every: Optional[int] = None, **options: Any) -> FaultRule:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; choose from {FAULT_KINDS}")
        if kind in self.refused_kinds:
            raise ValueError(f"fault kind {kind!r} cannot happen here: {self.refused_kinds[kind]}")
        if every is not None and every < 1:
            raise ValueError("every must be >= 1")
        if options.get("rate_limit_body") not in (None, *RATE_LIMIT_BODIES):
            raise ValueError(f"rate_limit_body must be one of {RATE_LIMIT_BODIES}, not {options['rate_limit_body']!r}")
        return FaultRule(path_regex, kind, every=every, **options)

    def on_request(self, callback: Callable[[str, Dict[str, List[str]]], None]) -> Callable[[], None]:
        """Call ``callback(path, query)`` before each request is served; returns a remover."""
        with self._lock:
            self._hooks.append(callback)

        def remove() -> None:
            with self._lock:
                if callback in self._hooks:
                    self._hooks.remove(callback)

        return remove

    def clear(self) -> None:
        """Remove every fault rule and every on_request hook."""
        with self._lock:
            self._rules.clear()
            self._chains.clear()
            self._hooks.clear()

    @property
    def rules(self) -> List[FaultRule]:
        with self._lock:
            return list(self._rules)

    def hooks(self) -> List[Callable[[str, Dict[str, List[str]]], None]]:
        with self._lock:
            return list(self._hooks)

    def select(self, path: str, query: Dict[str, List[str]]) -> List[FaultRule]:
        with self._lock:
            chained = [chain._consider(path, query) for chain in self._chains]
            return [rule for rule in self._rules if rule._consider(path)] + [rule for rule in chained if rule is not None]


def fault_response(rule: FaultRule, rate_limit_rule: Optional[RateLimitRule] = None, rate_limit_body: str = "detail") -> Response:
    """The answer of a "500", a "429" (Sentry's, for ``rate_limit_rule``, body ``rate_limit_body``),
    or a proxy's answer (PROXY_KINDS)."""
    kind = rule.kind
    if kind == "500":
        return internal_error()
    if kind == "429_retry_after":  # a proxy's own rate limit: Retry-After, no Sentry headers
        return Response(429, b"Too Many Requests", "text/plain", headers=[("Retry-After", str(rule.retry_after))])
    if kind == "429":
        limits = rate_limit_rule
        assert limits is not None
        now = time.time()
        headers = [
            ("X-Sentry-Rate-Limit-Remaining", "0"),
            ("X-Sentry-Rate-Limit-Limit", str(limits.limit)),
            ("X-Sentry-Rate-Limit-Reset", str(int(math.ceil(now + 1)))),
            ("X-Sentry-Rate-Limit-ConcurrentRemaining", str(limits.concurrent_limit)),
            ("X-Sentry-Rate-Limit-ConcurrentLimit", str(limits.concurrent_limit)),
        ]
        detail = RATE_LIMIT_MESSAGE.format(limit=limits.limit, window=format_window(limits.window_seconds))
        return rate_limited(detail, rate_limit_body, headers)
    status = {"429_proxy": 429, "502_html": 502, "503": 503, "504": 504}[kind]
    title = PROXY_PAGES[status]
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return Response(status, page.encode(), "text/html")


def shortened_page(pairs, query, default_page_size: int):
    """A page shorter than asked for that still has more after it, as Sentry's issue endpoints
    answer when they drop entries after querying. Nothing is lost: the cursor moves by what was served."""
    key = "limit" if "limit" in query else "per_page"
    asked = int(query.get(key, [default_page_size])[0])
    short = str(max(1, asked // 3))
    pairs = [(k, v) for k, v in pairs if k != key] + [(key, short)]
    query = {**query, key: [short]}
    return pairs, query


def send_truncated(handler: Handler, response: Response) -> None:
    """Promise more bytes than are sent, then close the connection cleanly."""
    body = response.body
    handler.send_status_and_headers(response)
    handler.send_header("Content-Length", str(len(body) + max(64, len(body))))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(body[: len(body) // 2])
    handler.close_connection = True


def reset_connection(handler: Handler) -> None:
    """Close the socket with an RST (SO_LINGER 0) so the client sees a reset, not a clean EOF."""
    handler.close_connection = True
    try:
        handler.wfile.flush()
    except OSError:
        pass
    try:
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        handler.connection.close()
    except OSError:
        pass

"""Pagination: cursors, the Link header, the page size, and the paginators Sentry's endpoints use
(sentry/api/paginator.py, sentry/utils/cursors.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Tuple
from urllib.parse import quote, unquote, urlencode

from .errors import ApiError
from .plumbing import Request, Response, json_body
from .records import public

MAX_PER_PAGE = 100  # sentry/api/paginator.py MAX_LIMIT
DETAIL_INVALID_CURSOR = "Invalid cursor parameter."  # sentry/utils/pagination_factory.py get_cursor


@dataclass
class Cursor:
    value: Any
    offset: int
    is_prev: bool
    has_results: Optional[bool] = None

    def __str__(self) -> str:
        return f"{self.value}:{self.offset}:{int(self.is_prev)}"


def parse_cursor(raw: Optional[str]) -> Optional[Cursor]:
    """Cursor.from_string: ``value:offset:is_prev``; value is an int (or a float if it has a dot)."""
    if not raw:
        return None
    bits = raw.split(":")
    if len(bits) != 3:
        raise ApiError(400, DETAIL_INVALID_CURSOR)
    try:
        value: Any = float(bits[0]) if "." in bits[0] else int(bits[0])
        return Cursor(value, int(bits[1]), bool(int(bits[2])))
    except (TypeError, ValueError):
        raise ApiError(400, DETAIL_INVALID_CURSOR) from None


def offset_paginate(rows: Sequence[Any], limit: int, cursor: Optional[Cursor]):
    """OffsetPaginator: cursor ``limit:page:is_prev`` (e.g. next of the first page is ``100:1:0``)."""
    cursor = cursor or Cursor(0, 0, False)
    page = cursor.offset
    value = int(cursor.value or 0)
    offset = page * value
    if offset < 0:
        raise ApiError(400, "Pagination offset cannot be negative")
    stop = offset + (value or limit) + 1
    results = list(rows[offset:stop])
    if value != limit:
        results = results[-(limit + 1):]
    next_cursor = Cursor(limit, page + 1, False, len(results) > limit)
    prev_cursor = Cursor(limit, page - 1, True, page > 0)
    return results[:limit], prev_cursor, next_cursor


def generic_offset_paginate(rows: Sequence[Any], limit: int, cursor: Optional[Cursor]):
    """GenericOffsetPaginator (events): cursor ``0:<row offset>:is_prev``."""
    offset = cursor.offset if cursor is not None else 0
    if offset < 0:
        raise ApiError(400, "Pagination offset cannot be negative")
    data = list(rows[offset: offset + limit + 1])
    has_more = len(data) == limit + 1
    if has_more:
        data.pop()
    prev_cursor = Cursor(0, max(0, offset - limit), True, offset > 0)
    next_cursor = Cursor(0, max(0, offset + limit), False, has_more)
    return data, prev_cursor, next_cursor


def reverse_bisect_left(a: Sequence[Any], x: Any, lo: int = 0, hi: Optional[int] = None) -> int:
    if lo < 0:
        raise ValueError("lo must be non-negative")
    if hi is None or hi > len(a):
        hi = len(a)
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] > x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def sequence_paginate(scored: Sequence[Tuple[int, Any]], limit: int, cursor: Optional[Cursor]):
    """SequencePaginator(reverse=True) as the issue search uses it: cursor ``score:offset:is_prev``.

    ``scored`` is sorted by score, newest first. The next cursor names the score of the first row of
    the next page and how many rows with that score the client has already seen.
    """
    limit = min(limit, MAX_PER_PAGE)
    cursor = cursor or Cursor(0, 0, False)
    if cursor.offset < 0:
        raise ApiError(400, DETAIL_INVALID_CURSOR)
    scores = [score for score, _ in scored]

    def search(x: Any, hi: Optional[int] = None) -> int:
        return reverse_bisect_left(scores, x, 0, hi)

    if cursor.value == 0:
        position = len(scores) if cursor.is_prev else 0
    else:
        position = search(cursor.value)
    position += cursor.offset
    if cursor.is_prev:
        hi = min(position, len(scores))
        lo = max(hi - limit, 0)
    else:
        lo = max(position, 0)
        hi = min(lo + limit, len(scores))
    if scores:
        prev_score = scores[min(lo, len(scores) - 1)]
        prev_cursor = Cursor(prev_score, lo - search(prev_score, hi=lo), True, lo > 0)
        next_score = scores[min(hi, len(scores) - 1)]
        next_cursor = Cursor(next_score, hi - search(next_score, hi=hi), False, hi < len(scores))
    else:
        prev_cursor = Cursor(cursor.value, cursor.offset, True, False)
        next_cursor = Cursor(cursor.value, cursor.offset, False, False)
    return [item for _, item in scored[lo:hi]], prev_cursor, next_cursor


def value_paginate_desc(keyed: Sequence[Tuple[int, Any]], limit: int, cursor: Optional[Cursor]):
    """Paginator(order_by="-<key>") (BasePaginator + build_cursor) over integer keys, sorted desc."""
    cursor = cursor or Cursor(0, 0, False)
    value = int(cursor.value or 0)
    if cursor.offset < 0:
        raise ApiError(400, "Pagination offset cannot be negative")
    if cursor.is_prev:  # ascending scan from the cursor value
        ordered = sorted(keyed, key=lambda kv: kv[0])
        if value:
            ordered = [kv for kv in ordered if kv[0] >= value]
    else:
        ordered = list(keyed)
        if value:
            ordered = [kv for kv in ordered if kv[0] <= value]
    extra = 2 if (cursor.is_prev and value) else 1
    offset = cursor.offset
    results = ordered[offset: offset + limit + extra]
    if cursor.is_prev and value:
        if results and results[0][0] == value:
            results = results[1:]
        elif len(results) == offset + limit + extra:
            results = results[:-1]
    if cursor.is_prev:
        results.reverse()

    def key(kv: Tuple[int, Any]) -> int:
        return kv[0]

    # _build_next_values (is_desc=True)
    num = len(results)
    next_value = value
    if not next_value and num:
        next_value = key(results[0])
    if cursor.is_prev:
        nxt = (next_value, 0, True)
    elif not num:
        nxt = (next_value, offset, False)
    else:
        has_next = num > limit
        last_value = key(results[-1])
        if last_value == next_value:
            nxt = (last_value, offset + limit, has_next)
        else:
            next_offset = 0
            iterator = reversed(results)
            if has_next:
                next(iterator)
            for row in iterator:
                if key(row) <= last_value:
                    next_offset += 1
                else:
                    break
            nxt = (last_value, next_offset, has_next)
    # _build_prev_values (is_desc=True)
    if cursor.is_prev:
        has_prev: Any = num > limit
    else:
        has_prev = value or offset
    first_prev_index = 1 if (cursor.is_prev and has_prev) else 0
    prev_value = key(results[first_prev_index]) if results else 0
    prev_offset = offset if cursor.is_prev else 0
    if cursor.is_prev and num:
        if prev_value == value:
            prev_offset = offset + limit
        else:
            prev_offset = 0
            iterator = iter(results)
            if has_prev:
                next(iterator)
            next(iterator, None)
            for row in iterator:
                if key(row) >= prev_value:
                    prev_offset += 1
                else:
                    break
    if cursor.is_prev and has_prev:
        results = results[1:]
    elif not cursor.is_prev:
        results = results[:limit]
    next_cursor = Cursor(nxt[0] or 0, nxt[1], False, bool(nxt[2]))
    prev_cursor = Cursor(prev_value or 0, prev_offset, True, bool(has_prev))
    return [row for _, row in results], prev_cursor, next_cursor


def per_page(request: Request, default_page_size: int, default: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """clamp_pagination_per_page: 400 outside 1..max(100, default), or 1..maximum when given."""
    default = default or default_page_size
    max_per_page = maximum or max(MAX_PER_PAGE, default)
    raw = request.get("per_page")
    if raw is None:
        return default
    try:
        per_page = int(raw)
    except ValueError:
        raise ApiError(400, "Invalid per_page parameter.") from None
    if per_page < 1 or per_page > max_per_page:
        raise ApiError(400, f"Invalid per_page value. Must be between 1 and {max_per_page}.")
    return per_page


def link_header(request: Request, prev_cursor: Cursor, next_cursor: Cursor) -> str:
    """Endpoint.build_cursor_link: ``<url?other&cursor=c>; rel="previous"; results="false"; cursor="c"``."""
    other = [(k, v) for k, v in request.pairs if k != "cursor"]
    querystring = urlencode(other)
    host = request.host
    base = f"http://{host}{quote(unquote(request.path))}"
    base = f"{base}?{querystring}" if querystring else f"{base}?"
    links = []
    for name, cursor in (("previous", prev_cursor), ("next", next_cursor)):
        text = str(cursor)
        links.append(
            f'<{base}&cursor={text}>; rel="{name}"; results="{"true" if cursor.has_results else "false"}"; cursor="{text}"'
        )
    return ", ".join(links)


def paged(request: Request, rows: List[Any], prev_cursor: Cursor, next_cursor: Cursor,
          headers: Sequence[Tuple[str, str]] = ()) -> Response:
    body = json_body([public(row) for row in rows])
    return Response(200, body, headers=[("Link", link_header(request, prev_cursor, next_cursor)), *headers])

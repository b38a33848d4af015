"""The issue search query: the terms the emulator understands, as filters over issue records."""
from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Callable, List

from ...dataset import Record
from ..errors import ApiError, InvalidParams
from ..params import parse_datetime_string
from ..records import record_time

# Issue search `is:` values (sentry/models/group.py STATUS_QUERY_CHOICES).
IS_STATUS = {
    "resolved": "resolved",
    "unresolved": "unresolved",
    "ignored": "ignored",
    "archived": "ignored",
    "muted": "ignored",
    "reprocessing": "reprocessing",
}
IS_VALID_VALUES = sorted(
    set(IS_STATUS)
    | {
        "assigned",
        "unassigned",
        "for_review",
        "linked",
        "unlinked",
        "archived_until_escalating",
        "archived_until_condition_met",
        "archived_forever",
        "escalating",
        "ongoing",
        "regressed",
        "new",
    }
)


def parse_issue_query(query: str, now: Callable[[], datetime]) -> List[Callable[[Record], bool]]:
    """The search query as record filters: is:<status>, lastSeen: and firstSeen: (or age:) terms."""
    filters: List[Callable[[Record], bool]] = []
    if not query:
        return filters
    for token in query.split():
        negated = token.startswith("!")
        body = token[1:] if negated else token
        key, sep, value = body.partition(":")
        if not sep or not value:
            raise ApiError(
                400,
                f'Error parsing search query: unsupported search term "{token}" '
                "(the emulator supports is:, lastSeen: and firstSeen: filters)",
            )
        if key == "is":
            if value not in IS_VALID_VALUES:
                raise ApiError(
                    400,
                    f'Error parsing search query: Invalid value for "is" search, valid values are {IS_VALID_VALUES}',
                )
            if value not in IS_STATUS:
                raise ApiError(400, f'Error parsing search query: the emulator does not support "is:{value}"')
            wanted = IS_STATUS[value]
            filters.append(
                (lambda w: (lambda issue: (issue.get("status") or "unresolved") != w))(wanted) if negated
                else (lambda w: (lambda issue: (issue.get("status") or "unresolved") == w))(wanted)
            )
        elif key in ("lastSeen", "last_seen", "firstSeen", "first_seen", "age"):
            if negated:
                raise ApiError(400, f'Error parsing search query: negation is not supported for "{key}"')
            field_name = "lastSeen" if key in ("lastSeen", "last_seen") else "firstSeen"
            filters.append(date_filter(field_name, value, token, now))
        else:
            raise ApiError(
                400,
                f'Error parsing search query: unsupported search term "{token}" '
                "(the emulator supports is:, lastSeen: and firstSeen: filters)",
            )
    return filters


def date_filter(field_name: str, value: str, token: str, now: Callable[[], datetime]) -> Callable[[Record], bool]:
    op = ""
    for candidate in (">=", "<=", ">", "<"):
        if value.startswith(candidate):
            op, value = candidate, value[len(candidate):]
            break
    rel = re.match(r"^([+-])(\d+)([mhdw])$", value)
    if rel and not op:
        sign, number, unit = rel.groups()
        delta = timedelta(**{{"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[unit]: int(number)})
        when = (now() - delta).timestamp()
        op = ">=" if sign == "-" else "<="
    elif not op:
        if re.match(r"^\d{4}-\d{2}-\d{2}$", value):  # a whole day
            day = parse_datetime_string(value).timestamp()
            return lambda issue: (t := record_time(issue, field_name)) is not None and day <= math.floor(t) < day + 86400
        raise ApiError(400, f"Error parsing search query: {token} is not a valid datetime query")
    else:
        try:
            when = parse_datetime_string(value).timestamp()
        except InvalidParams as err:
            raise ApiError(400, f"Error parsing search query: {err}") from None
    compare = {
        ">": lambda t: t > when,
        ">=": lambda t: t >= when,
        "<": lambda t: t < when,
        "<=": lambda t: t <= when,
    }[op]

    def check(issue: Record) -> bool:
        t = record_time(issue, field_name)
        return t is not None and compare(math.floor(t))

    return check

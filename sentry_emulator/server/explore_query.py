"""The `query` parameter of the Explore endpoint: a subset of Sentry's search syntax, parsed into a
predicate over rows.

Supported (src/sentry/api/event_search.py grammar, in part): ``key:value``, ``key:"quoted value"``,
``!key:value``, ``key:>N`` / ``>=`` / ``<`` / ``<=`` (numbers, durations such as ``1s`` or ``250ms``,
ISO dates), ``key:[a, b]``, ``*`` wildcards, ``has:key``, free text, parentheses, ``AND`` / ``OR``
(AND binds tighter). An unmatched parenthesis or quote is Sentry's parse error
(``parse_search_query``, IncompleteParseError branch): "Parse error at '<the 5 characters before
and after>' (column N). This is commonly caused by unmatched parentheses. Enclose any text in double
quotes." The column the emulator reports is where its own parser stops (Sentry's parsimonious
grammar may stop elsewhere for the same query).
"""
from __future__ import annotations

import fnmatch
import re
from typing import Any, Callable, List, Sequence, Tuple

from ..dataset import Record
from .explore_fields import FREE_TEXT_FIELDS, NUMERIC_TYPES, FieldError, resolve_column
from .records import parse_iso

Predicate = Callable[[Record], bool]
_DURATION = re.compile(r"^(-?\d+(?:\.\d+)?)(ms|s|m|min|h|hr|d|w)?$")
_UNIT_MS = {None: 1.0, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "min": 60_000.0, "h": 3_600_000.0,
            "hr": 3_600_000.0, "d": 86_400_000.0, "w": 604_800_000.0}


def parse_error(query: str, index: int) -> FieldError:
    column = index + 1
    excerpt = query[max(0, column - 5): column + 5]
    return FieldError(
        f"Parse error at '{excerpt}' (column {column}). This is commonly caused by unmatched parentheses. "
        "Enclose any text in double quotes."
    )


def compile_query(query: str, dataset: str, selected_projects: Sequence[str]) -> Predicate:
    """A predicate for ``query`` over the dataset's rows; FieldError for what Sentry refuses."""
    tokens = _tokenize(query)
    position = 0

    def parse_or() -> Predicate:
        nonlocal position
        alternatives = [parse_and()]
        while position < len(tokens) and tokens[position][0] == "OR":
            position += 1
            alternatives.append(parse_and())
        return alternatives[0] if len(alternatives) == 1 else (lambda row: any(p(row) for p in alternatives))

    def parse_and() -> Predicate:
        nonlocal position
        terms: List[Predicate] = []
        while position < len(tokens) and tokens[position][0] not in ("OR", ")"):
            kind, text, at = tokens[position]
            position += 1
            if kind == "AND":
                continue
            if kind == "(":
                inner = parse_or()
                if position >= len(tokens) or tokens[position][0] != ")":
                    raise parse_error(query, at)
                position += 1
                terms.append(inner)
            else:
                terms.append(_term(text, dataset, selected_projects))
        return (lambda row: all(p(row) for p in terms)) if terms else (lambda row: True)

    predicate = parse_or()
    if position < len(tokens):  # a ")" without its "("
        raise parse_error(query, tokens[position][2])
    return predicate


def _tokenize(query: str) -> List[Tuple[str, str, int]]:
    """(kind, text, index) for "(", ")", "AND", "OR" and terms (a term keeps its quoted parts)."""
    tokens: List[Tuple[str, str, int]] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
            continue
        if char in "()":
            tokens.append((char, char, i))
            i += 1
            continue
        start = i
        while i < n and not query[i].isspace() and query[i] not in "()":
            if query[i] == '"':
                closing = query.find('"', i + 1)
                while closing != -1 and query[closing - 1] == "\\":
                    closing = query.find('"', closing + 1)
                if closing == -1:
                    raise parse_error(query, i)
                i = closing + 1
            elif query[i] == "[":
                closing = query.find("]", i + 1)
                i = (closing + 1) if closing != -1 else n
            else:
                i += 1
        text = query[start:i]
        kind = text if text in ("AND", "OR") else "TERM"
        tokens.append((kind, text, start))
    return tokens


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def _term(text: str, dataset: str, selected_projects: Sequence[str]) -> Predicate:
    match = re.match(r'^(!?)([^:"\s]+):(.*)$', text)
    if not match:
        needle = _unquote(text).lower()
        fields = FREE_TEXT_FIELDS[dataset]
        return lambda row: any(needle in str(row.get(field) or "").lower() for field in fields)
    negated, key, raw = match.group(1) == "!", match.group(2), match.group(3)
    if key == "has":
        column = resolve_column(dataset, raw)
        present: Predicate = lambda row: row.get(column.source) not in (None, "")
        return (lambda row: not present(row)) if negated else present
    if key in ("project", "project.name") and raw and not raw.startswith("["):
        slug = _unquote(raw)
        if slug not in selected_projects:
            # test_project_in_query_does_not_exist (tests/snuba/api/endpoints/test_organization_events.py)
            raise FieldError(f"Invalid query. Project(s) {slug} do not exist or are not actively selected.")
    column = resolve_column(dataset, key)
    if column.is_aggregate:
        raise FieldError(f"Aggregate filters are not supported by the emulator: {key}")
    kind = column.type_unit[0]
    operator = "="
    for candidate in (">=", "<=", ">", "<"):
        if raw.startswith(candidate):
            operator, raw = candidate, raw[len(candidate):]
            break
    if raw.startswith("[") and raw.endswith("]"):
        values = [_unquote(part.strip()) for part in raw[1:-1].split(",")]
        matches: Predicate = lambda row: any(_equals(row.get(column.source), value, kind) for value in values)
    elif operator == "=":
        value = _unquote(raw)
        matches = lambda row: _equals(row.get(column.source), value, kind)
    else:
        bound = _comparable(_unquote(raw), kind, key)
        matches = lambda row: _compare(row.get(column.source), operator, bound, kind)
    return (lambda row: not matches(row)) if negated else matches


def _equals(actual: Any, expected: str, kind: str) -> bool:
    if actual is None:
        return expected == ""
    if kind == "boolean":
        return str(actual).lower() == expected.lower() or (expected in ("1", "0") and bool(actual) == (expected == "1"))
    if kind in NUMERIC_TYPES:
        try:
            return float(actual) == _comparable(expected, kind, "")
        except FieldError:
            return False
    if "*" in expected:
        return fnmatch.fnmatchcase(str(actual), expected)
    return str(actual) == expected


def _comparable(value: str, kind: str, key: str) -> Any:
    if kind in NUMERIC_TYPES:
        match = _DURATION.match(value)
        if match is None or (match.group(2) and kind != "duration"):
            # src/sentry/search/eap/resolver.py (filter values of the wrong type)
            raise FieldError(f"{value} is not a valid filter value for {key}, expecting number, but got a <class 'str'>")
        return float(match.group(1)) * _UNIT_MS[match.group(2)]
    if key == "timestamp" or kind == "date":
        try:
            return parse_iso(value).timestamp()
        except (ValueError, IndexError):
            raise FieldError(f"{value} is not a valid ISO8601 date query") from None
    return value


def _compare(actual: Any, operator: str, bound: Any, kind: str) -> bool:
    if actual is None:
        return False
    if isinstance(bound, float) and not isinstance(actual, (int, float)):
        try:
            actual = parse_iso(str(actual)).timestamp()
        except (ValueError, IndexError):
            return False
    return {">": actual > bound, ">=": actual >= bound, "<": actual < bound, "<=": actual <= bound}[operator]


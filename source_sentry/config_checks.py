"""Configuration problems, explained before any request is sent.

Why Python: the manifest's spec patterns catch the same mistakes, but the CDK reports them as bare
JSON-schema messages ("'  ' does not match '^[A-Za-z0-9]...'") that do not name the field, and the
config transformations run before that check (a malformed start date crashes them). Here each
problem gets one sentence a user can act on.

Why a config transformation, not the spec's `config_normalization_rules.validations`: those run
only when the streams are built, after the CDK's entrypoint has checked the config against the
spec's JSON schema (so `check`, `discover` and `read` answer "Config validation error: 'my org'
does not match '^[A-Za-z0-9]...'" and our validator never runs), and after the transformations
(a start date of "yesterday" crashes the source's construction first). A problem the JSON schema
lets through reaches the user from a validator at `discover` and `read`, but at `check` only
inside "Encountered an error while discovering streams. Error: ..." with a traceback logged.
The manifest's first transformation runs when the source is built, before all of that.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Mapping, MutableMapping, Optional
from urllib.parse import urlsplit

import requests
import urllib3
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.transformations.config_transformations.config_transformation import ConfigTransformation
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")


@dataclass
class ExplainConfigProblems(ConfigTransformation):
    """The manifest's first config transformation: changes nothing, stops at the first problem."""

    def transform(self, config: MutableMapping[str, Any]) -> None:
        problem = config_problem(config)
        if problem:
            raise AirbyteTracedException(message=problem, internal_message=problem, failure_type=FailureType.config_error)


def config_problem(config: Mapping[str, Any]) -> Optional[str]:
    """The first problem found in a config, or None when it is usable."""
    problems: List[Optional[str]] = [
        _token_problem(config.get("auth_token")),
        _slug_problem("organization", config.get("organization"), required=True),
        _slug_problem("project", config.get("project"), required=False),
        _projects_problem(config.get("projects")),
        _hostname_problem(config.get("hostname")),
        _start_date_problem(config.get("start_date")),
        _workers_problem(config.get("num_workers")),
        _backoff_problem(config.get("retry_backoff_seconds")),
        _offset_cap_problem(config.get("explore_offset_cap")),
        _explore_problem(config.get("explore_queries")),
    ]
    return next((problem for problem in problems if problem), None)


def _token_problem(token: Any) -> Optional[str]:
    if not isinstance(token, str) or not token.strip():
        return "auth_token is missing: create an auth token in Sentry (Settings > Auth Tokens) and set it."
    return None


def _slug_problem(field: str, value: Any, required: bool) -> Optional[str]:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        return f"{field} is blank: set it to the slug shown in Sentry's URLs (e.g. 'acme')."
    if not SLUG.match(value):
        return f"{field} '{value}' is not a Sentry slug: slugs hold only letters, digits, '-', '_' and '.', without spaces."
    return None


def _projects_problem(projects: Any) -> Optional[str]:
    if projects is None:
        return None
    if not isinstance(projects, list):
        return "projects must be a list of project slugs, e.g. [\"web\", \"api\"]."
    for index, slug in enumerate(projects):
        problem = _slug_problem(f"projects[{index}]", slug, required=True)
        if problem:
            return problem
    return None


def _hostname_problem(hostname: Any) -> Optional[str]:
    """The forms the spec's pattern accepts, and only those: each one is reduced to the right host
    by Airbyte's platform for metadata.yaml's allowedHosts `${hostname}` (see the spec's comment)."""
    if hostname is None:
        return None
    example = "a host such as sentry.io or de.sentry.io, or a base URL such as http://sentry.internal:9000"
    if not isinstance(hostname, str) or not hostname.strip():
        return f"hostname is blank: leave it out for sentry.io or set {example}."
    value = hostname.strip()
    parts = urlsplit(value if "://" in value else f"https://{value}")
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not HOST.match(parts.hostname or "") or not port_ok or parts.query or parts.fragment or "@" in parts.netloc or " " in value:
        return f"hostname '{hostname}' is not {example}."
    if value != hostname:
        return f"hostname '{hostname}' has spaces around it: remove them."
    if parts.port is not None and "://" not in value:
        return f"hostname '{hostname}' has a port but no scheme: write it as a URL, https://{value} or http://{value}."
    return None


def _start_date_problem(start_date: Any) -> Optional[str]:
    if start_date is None or start_date == "":
        return None
    example = "an ISO 8601 UTC date such as 2024-01-01 or 2024-01-01T00:00:00Z"
    if not isinstance(start_date, str):
        return f"start_date must be {example}."
    try:
        moment = datetime.fromisoformat(start_date.strip().replace("Z", "+00:00"))
    except ValueError:
        return f"start_date '{start_date}' is not {example}."
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    if moment > datetime.now(timezone.utc):
        return f"start_date '{start_date}' is in the future: nothing would be synced."
    return None


def _workers_problem(workers: Any) -> Optional[str]:
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int) or not 2 <= workers <= 20:
        return f"num_workers must be a whole number from 2 to 20, not {workers!r}."
    return None


def _backoff_problem(seconds: Any) -> Optional[str]:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0.01 <= seconds <= 60:
        return f"retry_backoff_seconds must be a number from 0.01 to 60, not {seconds!r}."
    return None


def _offset_cap_problem(cap: Any) -> Optional[str]:
    if cap is None:
        return None
    if isinstance(cap, bool) or not isinstance(cap, int) or not 200 <= cap <= 1_000_000:
        return f"explore_offset_cap must be a whole number from 200 to 1000000, not {cap!r}."
    return None


# Explore queries (source_sentry/explore.py, the manifest's dynamic streams).
EXPLORE_DATASETS = ("spans", "logs", "transactions", "errors")
EXPLORE_SETTINGS = ("name", "dataset", "fields", "query", "projects", "environments", "window", "ingestion_lag")
EXPLORE_NAME = re.compile(r"^[a-z0-9_]{1,64}$")
MAX_FIELDS = 20  # Sentry's limit per query, the fields the connector adds included (sentry.utils.snuba MAX_FIELDS)
DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(text: Any) -> Optional[timedelta]:
    """An ISO 8601 duration of days, hours, minutes and seconds (P1D, PT6H, PT5M), else None."""
    match = DURATION.match(text) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def is_aggregate_field(field: str) -> bool:
    """A function (count(), p95(span.duration)) or an equation: the query is then an aggregate."""
    return "(" in field or field.startswith("equation|")


def _explore_problem(queries: Any) -> Optional[str]:
    if queries is None:
        return None
    if not isinstance(queries, list):
        return "explore_queries must be a list of queries, each with a name, a dataset and fields."
    seen = set()
    for index, query in enumerate(queries):
        if not isinstance(query, dict):
            return f"explore_queries[{index}] must be an object with a name, a dataset and fields."
        name = query.get("name")
        if not isinstance(name, str) or not name.strip():
            return f"explore_queries[{index}] has no name: give it one of lowercase letters, digits and '_' (its stream is explore_<name>)."
        if not EXPLORE_NAME.match(name):
            return f"Explore query name '{name}' may hold only lowercase letters, digits and '_', at most 64 (its stream is explore_<name>)."
        if name in seen:
            return f"Explore query names must be unique: '{name}' is used twice."
        seen.add(name)
        problem = _one_explore_problem(name, query)
        if problem:
            return problem
    return None


def _one_explore_problem(name: str, query: Dict[str, Any]) -> Optional[str]:
    unknown = sorted(set(query) - set(EXPLORE_SETTINGS))
    if unknown:
        return f"Explore query '{name}' has an unknown setting '{unknown[0]}': the settings are {', '.join(EXPLORE_SETTINGS)}."
    dataset = query.get("dataset")
    if dataset not in EXPLORE_DATASETS:
        return f"Explore query '{name}': dataset {dataset!r} is not one of {', '.join(EXPLORE_DATASETS)}."
    fields = query.get("fields")
    if not isinstance(fields, list) or not fields:
        return f"Explore query '{name}' needs a list of fields, e.g. [\"span.op\", \"span.duration\"]."
    for position, field in enumerate(fields):
        if not isinstance(field, str) or not field.strip():
            return f"Explore query '{name}': fields[{position}] is blank."
        if fields.index(field) != position:
            return f"Explore query '{name}' selects '{field}' twice."
    aggregate = any(is_aggregate_field(field) for field in fields)
    added = ["project.id"] if aggregate else ["id", "timestamp"]
    added = [field for field in added if field not in fields]
    if len(fields) + len(added) > MAX_FIELDS:
        total = len(fields) + len(added)
        return (f"Explore query '{name}' selects {len(fields)} fields and the connector adds {len(added)} "
                f"({', '.join(added)}): {total} is more than the {MAX_FIELDS} Sentry allows per query, remove {total - MAX_FIELDS}.")
    if aggregate and "timestamp" in fields:
        return (f"Explore query '{name}' mixes functions with 'timestamp': an aggregate query is read per window "
                "(its rows carry window_start and window_end), so remove 'timestamp'.")
    if query.get("query") is not None and not isinstance(query.get("query"), str):
        return f"Explore query '{name}': query must be a string of Sentry search syntax, e.g. \"span.op:db\"."
    projects = query.get("projects")
    if projects is not None:
        if not isinstance(projects, list):
            return f"Explore query '{name}': projects must be a list of project slugs."
        for position, slug in enumerate(projects):
            problem = _slug_problem(f"Explore query '{name}': projects[{position}]", slug, required=True)
            if problem:
                return problem
    environments = query.get("environments")
    if environments is not None and (not isinstance(environments, list) or not all(isinstance(e, str) and e.strip() for e in environments)):
        return f"Explore query '{name}': environments must be a list of environment names."
    return _explore_durations_problem(name, query, aggregate)


def _explore_durations_problem(name: str, query: Dict[str, Any], aggregate: bool) -> Optional[str]:
    window = query.get("window")
    if window is not None:
        step = parse_duration(window)
        if step is None or not timedelta(minutes=1) <= step <= timedelta(days=90):
            return f"Explore query '{name}': window {window!r} is not an ISO 8601 duration from PT1M to P90D, such as PT1H, PT6H or P1D."
        if aggregate and (step > timedelta(days=1) or timedelta(days=1) % step):
            return (f"Explore query '{name}' is read per window of its aggregates, so its window must divide a day "
                    f"evenly (PT1H, PT6H, P1D...), not {window!r}.")
    lag = query.get("ingestion_lag")
    if lag is not None:
        delay = parse_duration(lag)
        if delay is None or delay > timedelta(days=1):
            return f"Explore query '{name}': ingestion_lag {lag!r} is not an ISO 8601 duration of at most P1D, such as PT5M."
    return None


# How long `check` waits to reach the host before it says it cannot.
CONNECT_TIMEOUT_SECONDS = 15


def unreachable_host(api_base: str) -> Optional[str]:
    """Why Python: a read retries a lost connection 8 times over 8 min 38 s, which is right
    for a blip mid-sync; `check` shares those retries, so a mistyped or firewalled host answered
    only after 8.6 minutes. One plain request (no token) tells at once whether the host answers
    at all; what it answers is left to the check itself."""
    if not api_base:
        return None
    host = api_base[: -len("/api/0")] if api_base.endswith("/api/0") else api_base
    try:
        requests.head(f"{api_base}/", timeout=CONNECT_TIMEOUT_SECONDS, allow_redirects=False)
    except requests.exceptions.SSLError:
        reason = "its TLS certificate could not be verified (a self-signed certificate needs REQUESTS_CA_BUNDLE)"
    except requests.exceptions.Timeout:
        reason = f"no answer within {CONNECT_TIMEOUT_SECONDS} s"
    except requests.exceptions.ConnectionError as error:
        if _connected(error):  # something answered, then broke the connection: the host is there
            return None
        reason = _reason(error)
    except requests.exceptions.RequestException as error:
        reason = _reason(error)
    else:
        return None
    return f"Could not connect to {host}: {reason}. Check the hostname and that this machine can reach it."


def _connected(error: requests.exceptions.ConnectionError) -> bool:
    """urllib3 raises ProtocolError ("Connection aborted.") only once a connection was made (a reset
    or a close before the answer); a refused connection, an unknown name or a failed TLS handshake
    never connected. A transient reset is then retried by the check's own requests."""
    return bool(error.args) and isinstance(error.args[0], urllib3.exceptions.ProtocolError)


def _reason(error: requests.exceptions.RequestException) -> str:
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(error))
    return found.group(1).strip() if found else type(error).__name__

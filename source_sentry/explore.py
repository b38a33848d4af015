"""Explore queries (`explore_queries` in the config): the Python the manifest's dynamic streams need.

The streams themselves are declarative (manifest.yaml, `dynamic_streams`): the spec's config
normalization turns each query into a stream definition (fields the connector adds, sort, key,
declared schema), a ConfigComponentsResolver makes one stream of each, and the CDK's pagination
reset reads a window on past Sentry's offset cap. Three pieces are Python, each because the
declarative language cannot express it:

- `ExploreProjectModes` (a config transformation): whether one request may span several projects.
  Sentry answers 400 "You cannot view events from multiple projects." without the organization's
  `global-views` feature (src/sentry/api/bases/organization_events.py get_snuba_params). Knowing it
  takes a request (the organization's `features`) whose answer changes the streams' structure (a
  partition per project), which only code run before the streams are built can do.
- `ExploreSchemaLoader`: each stream's schema typed from Sentry's own `meta.fields` (one request of
  one row per stream), so numbers land as numbers. The declarative DynamicSchemaLoader reads a list
  of property records, not `meta.fields`' mapping.
- `ExploreStateMigration`: a saved state written in the other project mode (per project, or one
  cursor for all projects) resumes without losing rows.

The Connector Builder edition has none of them (scripts/build_builder_manifest.py): it sends every
query's projects in one request, uses the declared schema (types guessed from field names), and
keeps a saved state as it is.
"""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import InitVar, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Mapping, MutableMapping, Optional

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.requesters.requester import Requester
from airbyte_cdk.sources.declarative.schema.schema_loader import SchemaLoader
from airbyte_cdk.sources.declarative.transformations.config_transformations.config_transformation import ConfigTransformation
from airbyte_cdk.sources.types import StreamSlice
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_sentry.config_checks import parse_duration, unreachable_host
from source_sentry.state import SavedStateMigration, _parse
from source_sentry.waits import clock_time, failure_reason

logger = logging.getLogger("airbyte")

# The config keys the spec's normalization fills with one stream definition per query.
EXPLORE_KEYS = ("explore_row_queries", "explore_aggregate_queries")
GLOBAL_VIEWS = "global-views"
REQUEST_TIMEOUT_SECONDS = 30
ATTEMPTS = 4

# Sentry's meta types (src/sentry/api/bases/organization_events.py get_unit_and_type: durations and
# sizes are "duration" / "size" with their unit; src/sentry/search/eap/constants.py SearchType)
# and the JSON schema type a warehouse column gets for each.
_NUMBER_TYPES = {"number", "percentage", "duration", "rate", "size", "currency", "score"}
_DURATION_UNITS = {"nanosecond", "microsecond", "millisecond", "second", "minute", "hour", "day", "week"}
_SIZE_UNITS = {"bit", "byte", "kibibyte", "mebibyte", "gibibyte", "tebibyte", "pebibyte", "exbibyte",
               "kilobyte", "megabyte", "gigabyte", "terabyte", "petabyte", "exabyte"}
# Fields whose type the connector fixes whatever meta says: the cursor and window bounds are
# date-times (EAP reports `timestamp` as a string), and `timestamp_precise` is integer nanoseconds
# (meta says "number": a float64 column would round it).
_CONNECTOR_TYPES = {
    "timestamp": {"type": ["null", "string"], "format": "date-time"},
    "window_start": {"type": ["null", "string"], "format": "date-time"},
    "window_end": {"type": ["null", "string"], "format": "date-time"},
    "timestamp_precise": {"type": ["null", "integer"]},
}


def json_schema_type(sentry_type: str) -> Optional[Dict[str, Any]]:
    """The JSON schema of a column of this Sentry meta type; None for a type not known here."""
    if sentry_type == "integer":
        return {"type": ["null", "integer"]}
    if sentry_type in _NUMBER_TYPES or sentry_type in _DURATION_UNITS or sentry_type in _SIZE_UNITS:
        return {"type": ["null", "number"]}
    if sentry_type == "boolean":
        return {"type": ["null", "boolean"]}
    if sentry_type == "date":
        return {"type": ["null", "string"], "format": "date-time"}
    if sentry_type == "string":
        return {"type": ["null", "string"]}
    return None


# ------------------------------------------------------------------------------------------------
# Project modes
# ------------------------------------------------------------------------------------------------

@dataclass
class ExploreProjectModes(ConfigTransformation):
    """Marks each query that would span several projects `per_project` (with the projects to read
    one by one in `partition_projects`) when the organization lacks `global-views`; with the
    feature, such a query stays one request for all its projects. Asks Sentry at most twice per
    command: the organization (its features) and, for queries over every project, its projects."""

    def transform(self, config: MutableMapping[str, Any]) -> None:
        spanning = [(key, index) for key in EXPLORE_KEYS for index, entry in enumerate(config.get(key) or [])
                    if len(entry.get("project_slugs") or []) != 1]
        if not spanning:
            return
        api = _Api(config)
        features = api.get_json(f"organizations/{config['organization']}/").get("features") or []
        if GLOBAL_VIEWS in features:
            return
        every_project: Optional[List[str]] = None
        for key, index in spanning:
            entry = dict(config[key][index])
            slugs = entry.get("project_slugs") or []
            if not slugs:
                every_project = every_project if every_project is not None else api.project_slugs()
                slugs = every_project
            entry["per_project"] = True
            entry["partition_projects"] = list(slugs)
            config[key] = [entry if position == index else other for position, other in enumerate(config[key])]
            logger.info(f"Explore query '{entry['name']}': organization '{config['organization']}' lacks the "
                        f"'{GLOBAL_VIEWS}' feature, so its {len(slugs)} projects are read one request at a time.")


class _Api:
    """A few GETs outside the streams (no stream exists yet when the config is transformed), with
    the manifest's retries in small: connection errors, 429 and 5xx are tried again."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self._base = config["api_base"]
        self._organization = config["organization"]
        self._headers = {"Authorization": f"Bearer {config['auth_token']}"}
        self._backoff = float(config.get("retry_backoff_seconds") or 1)

    def get_json(self, path: str, params: Optional[Mapping[str, Any]] = None) -> Any:
        return self._get(f"{self._base}/{path}", params).json()

    def project_slugs(self) -> List[str]:
        """The projects the token's user can read, as `project=-1` selects them (Sentry lists the
        others too, with hasAccess false: src/sentry/api/serializers/models/project.py)."""
        readable: List[str] = []
        unreadable: List[str] = []
        url: Optional[str] = f"{self._base}/organizations/{self._organization}/projects/"
        params: Optional[Mapping[str, Any]] = {"per_page": 100}
        while url:
            response = self._get(url, params)
            for project in response.json():
                (unreadable if project.get("hasAccess") is False else readable).append(project["slug"])
            following = response.links.get("next") or {}
            url, params = (following.get("url"), None) if following.get("results") == "true" else (None, None)
        if unreadable:
            logger.warning(f"Explore queries over every project skip the {len(unreadable)} the auth token's user cannot read: "
                           f"{', '.join(unreadable)}.")
        return readable

    def _get(self, url: str, params: Optional[Mapping[str, Any]]) -> requests.Response:
        path = url.split("?", 1)[0]
        for attempt in range(ATTEMPTS):
            last = attempt == ATTEMPTS - 1
            seconds = self._backoff * 2 ** attempt
            try:
                response = requests.get(url, params=params, headers=self._headers, timeout=REQUEST_TIMEOUT_SECONDS)
            except requests.exceptions.RequestException as error:
                answer: Any = error
                if last:
                    reason = unreachable_host(self._base) or f"Could not reach Sentry at {path} ({type(error).__name__})."
                    raise _failure(reason, FailureType.transient_error) from None
            else:
                answer = response
                if response.status_code == 200:
                    try:
                        response.json()
                        return response
                    except ValueError:
                        pass
                elif response.status_code == 401:
                    raise _failure(f"Sentry rejected the auth token (401 Invalid token) at {path}: it is wrong, expired or "
                                   "revoked. Create a new auth token in Sentry and update the connector's configuration.")
                elif response.status_code == 403:
                    raise _failure(f"Sentry denied access to {path} (403): the auth token lacks the 'org:read' scope. "
                                   "Grant the scope and retry.")
                elif response.status_code == 404:
                    raise _failure(f"Organization '{self._organization}' was not found at {path} (404). Check the "
                                   "organization slug and the hostname (EU organizations live on de.sentry.io).")
                elif response.status_code < 500 and response.status_code != 429:
                    raise _failure(f"Sentry answered {response.status_code} for {path}.", FailureType.system_error)
                if last:
                    raise _failure(f"Sentry answered {path} with {response.status_code} {ATTEMPTS} times.",
                                   FailureType.transient_error)
                if response.headers.get("Retry-After", "").isdigit():  # a proxy's, honoured as the streams do
                    seconds = max(seconds, min(float(response.headers["Retry-After"]), 600.0))
            logger.info(f"Retrying GET {url} at {clock_time(time.time() + seconds)}, in {seconds:.1f} s "
                        f"(retry {attempt + 1} of {ATTEMPTS - 1}): {failure_reason(answer)}.")
            time.sleep(seconds)
        raise AssertionError("unreachable")


def _failure(message: str, failure_type: FailureType = FailureType.config_error) -> AirbyteTracedException:
    return AirbyteTracedException(message=message, internal_message=message, failure_type=failure_type)


# ------------------------------------------------------------------------------------------------
# Schema
# ------------------------------------------------------------------------------------------------

@dataclass
class ExploreSchemaLoader(SchemaLoader):
    """The declared schema (every column the stream emits, typed from field names by the spec's
    normalization) with each column's type replaced by the one Sentry's `meta.fields` gives it. The
    query is asked once, for one row of its latest window, with the stream's own requester: its
    authentication, its error handler (a query Sentry refuses fails naming the query) and Sentry's
    rate limits. A column meta does not mention keeps its declared type."""

    requester: Requester
    config: Mapping[str, Any]
    parameters: InitVar[Mapping[str, Any]]
    schema: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._explore: Mapping[str, Any] = parameters.get("explore") or {}

    def get_json_schema(self) -> Mapping[str, Any]:
        schema = {"type": "object", **copy.deepcopy(dict(self.schema))}
        sentry_types = self._sentry_types()
        for name, declared in (schema.get("properties") or {}).items():
            typed = _CONNECTOR_TYPES.get(name) or json_schema_type(sentry_types.get(name, ""))
            if typed is not None:
                declared.clear()
                declared.update(typed)
        return schema

    def _sentry_types(self) -> Mapping[str, str]:
        now = datetime.now(timezone.utc)
        lag = parse_duration(self._explore.get("ingestion_lag") or "PT5M") or timedelta(0)
        window = {"start_time": _format(now - lag - timedelta(days=1)), "end_time": _format(now - lag)}
        partition = {"project": self._explore["partition_projects"][0]} if self._explore.get("per_project") else {}
        response = self.requester.send_request(stream_slice=StreamSlice(partition=partition, cursor_slice=window),
                                               request_params={"per_page": "1"})
        try:
            meta = response.json().get("meta") if response is not None else None
        except ValueError:
            meta = None
        fields = (meta or {}).get("fields") or {}
        return {name: value for name, value in fields.items() if isinstance(value, str)}


def _format(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# ------------------------------------------------------------------------------------------------
# State
# ------------------------------------------------------------------------------------------------

@dataclass
class ExploreStateMigration(SavedStateMigration):
    """SavedStateMigration's checks, then the saved state fitted to the query's project mode.

    One cursor for all projects is the state of a query read in one request per window; a state per
    project that of a query read project by project. A one-cursor state given to a per-project
    stream applies to every project (the CDK does that itself). A per-project state given to a
    one-request stream resumes from the oldest project's cursor, so no project loses rows (the
    others read some again). Per project, a project without a saved cursor starts from the start
    date, not from the newest cursor of the others (the CDK's fallback), which would skip its past.
    """

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self._explore: Mapping[str, Any] = parameters.get("explore") or {}

    def migrate(self, stream_state: Mapping[str, Any]) -> Mapping[str, Any]:
        state = super().migrate(stream_state)
        entries = state.get("states") if isinstance(state, Mapping) else None
        if entries is None:
            return state
        if self._explore.get("per_project"):
            return {key: value for key, value in state.items() if key != "state"}
        cursor_field = self._explore.get("cursor_field") or "timestamp"
        cursors = [entry.get("cursor", {}).get(cursor_field) for entry in entries]
        cursors = [cursor for cursor in cursors if cursor]
        if not cursors:
            return {}
        oldest = min(cursors, key=_parse)
        logger.info(f"Saved state of stream '{self._stream}' is per project; the query now reads all its projects in "
                    f"one request: resuming from the oldest project cursor, {oldest}.")
        return {cursor_field: oldest}

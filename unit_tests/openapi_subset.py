"""Sentry's published OpenAPI schema (the subset in unit_tests/sentry_openapi/) for the tests.

The subset is Sentry's own description of its API (see sentry_openapi/README.md): the stream
schemas, the emulator and the connector are held against it.
"""
from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Set

SUBSET = Path(__file__).resolve().parent / "sentry_openapi" / "sentry-openapi-subset.json"
SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "source_sentry" / "schemas"

# The operation behind each stream (operationId in the subset).
STREAM_OPERATIONS: Dict[str, str] = {
    "events": "listProjectEvents",
    "issues": "listOrganizationIssues",
    "projects": "listOrganizationProjects",
    "project_detail": "getProject",
    "releases": "listOrganizationReleases",
    "release_deploys": "listOrganizationReleaseDeploys",
    "teams": "listOrganizationTeams",
    "members": "listOrganizationMembers",
    "project_keys": "listProjectKeys",
    "environments": "listProjectEnvironments",
    "organization_stats": "listOrganizationStatsV2",
}

JSON_TYPES = ("object", "array", "string", "number", "integer", "boolean")


@lru_cache(maxsize=None)
def _document() -> Dict[str, Any]:
    return json.loads(SUBSET.read_text())


def operations() -> Dict[str, Dict[str, Any]]:
    """operationId -> {"path", "method", "operation"}."""
    found: Dict[str, Dict[str, Any]] = {}
    for path, methods in _document()["paths"].items():
        for method, operation in methods.items():
            if isinstance(operation, dict) and "operationId" in operation:
                found[operation["operationId"]] = {"path": path, "method": method, "operation": operation}
    return found


def operation(operation_id: str) -> Dict[str, Any]:
    return operations()[operation_id]


def _ok_content(operation_id: str) -> Dict[str, Any]:
    return operation(operation_id)["operation"]["responses"]["200"]["content"]["application/json"]


def response_schema(operation_id: str) -> Dict[str, Any]:
    """The 200 response body schema, as published (OpenAPI 3.0 dialect)."""
    return copy.deepcopy(_ok_content(operation_id)["schema"])


def item_schema(operation_id: str) -> Dict[str, Any]:
    """The schema of one listed item (the body itself for single-object operations)."""
    schema = response_schema(operation_id)
    return schema["items"] if schema.get("type") == "array" else schema


def examples(operation_id: str) -> Dict[str, Any]:
    """Sentry's example response bodies: name -> body."""
    content = _ok_content(operation_id)
    found = {name: example["value"] for name, example in (content.get("examples") or {}).items()}
    if "example" in content:
        found["example"] = content["example"]
    return found


def stream_schema(stream: str) -> Dict[str, Any]:
    return json.loads((SCHEMAS_DIR / f"{stream}.json").read_text())


def openapi_types(schema: Mapping[str, Any]) -> Optional[Set[str]]:
    """The JSON types an OpenAPI 3.0 schema allows, "null" included when nullable; None for any."""
    if "type" not in schema:
        return None  # {} or anyOf/oneOf: any value
    types = {schema["type"]}
    if schema.get("nullable") or None in (schema.get("enum") or []):
        types.add("null")
    return types


def to_json_schema(schema: Any, *, closed: bool = False) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema (draft 7): `nullable` becomes a "null" type, `null` enum
    members stay valid, formats other than date-time are dropped (double, uri: not checked).
    closed=True forbids properties the schema does not list (additionalProperties: false) on
    every object that lists properties, to catch fields a response has that Sentry does not document."""
    if isinstance(schema, list):
        return [to_json_schema(item, closed=closed) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted: Dict[str, Any] = {}
    for key, value in schema.items():
        if key == "nullable":
            continue
        if key == "format" and value != "date-time":
            continue
        if key in ("properties", "patternProperties"):
            converted[key] = {name: to_json_schema(sub, closed=closed) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            converted[key] = to_json_schema(value, closed=closed)
        elif key in ("anyOf", "oneOf", "allOf"):
            converted[key] = [to_json_schema(sub, closed=closed) for sub in value]
        else:
            converted[key] = copy.deepcopy(value)
    if schema.get("nullable"):
        if "type" in converted:
            converted["type"] = [converted["type"], "null"]
        if "enum" in converted and None not in converted["enum"]:
            converted["enum"] = [*converted["enum"], None]
        for combinator in ("anyOf", "oneOf"):
            if combinator in converted:
                converted[combinator] = [*converted[combinator], {"type": "null"}]
    if closed and "properties" in converted and "additionalProperties" not in converted:
        converted["additionalProperties"] = False
    return converted


def property_paths(schema: Mapping[str, Any], path: str = "") -> List[str]:
    """Every property path an OpenAPI schema describes ("a.b", arrays as "a[].b")."""
    found: List[str] = []
    for name, sub in (schema.get("properties") or {}).items():
        here = f"{path}.{name}" if path else name
        found.append(here)
        found.extend(property_paths(sub, here))
    items = schema.get("items")
    if isinstance(items, dict):
        found.extend(property_paths(items, f"{path}[]"))
    return found

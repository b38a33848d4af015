"""The connector as Airbyte's Connector Builder sees it.

The Builder runs no Python of ours: it hands the manifest to the CDK's builder handler
(`airbyte_cdk.connector_builder.main`) in the config (`__injected_declarative_manifest`) with a
`__command` (`resolve_manifest`, `test_read`). These tests call that handler in-process, the way the
Builder's server does, against the emulator:

- both manifests resolve; a test_read of every stream through `builder/manifest.yaml` (what a
  Builder user imports) returns pages of records that are exactly the API's records, with no error
  log and no deprecation warning (the manifest uses `url`, never `url_base`/`path`; a control
  manifest using them shows the warnings are seen). `source_sentry/manifest.yaml` itself cannot
  be loaded there: it names custom components, which the Builder refuses to run;
- `source_sentry/manifest.yaml` and the generated single-file `builder/manifest.yaml` validate
  against the CDK's `declarative_component_schema.yaml`;
- `builder/manifest.yaml` is what `scripts/build_builder_manifest.py` writes today: the packaged
  manifest without its custom component, with the schema files inline; a full read through it
  yields the same records as the packaged connector, stream by stream.

What a Builder user does NOT get, because it lives in Python: the manifest's custom components
(dropped from the Builder edition) and `source_sentry/source.py` (which also the
source-declarative-manifest image, running the manifest with its components, does not run):

- Config checks with one actionable sentence per mistake (`config_checks.py`): the spec's patterns
  still reject a blank token, a slug with spaces or a malformed host name, but as bare JSON-schema
  messages that do not name the field, and a malformed `start_date` crashes the config
  normalization instead of being explained. A `start_date` in the future is not rejected at all
  (the sync just reads nothing).
- Saved-state sanitizing (`state.py`): a null, malformed or future cursor in a saved state ends
  the sync with the CDK's generic error instead of re-syncing only that stream from the start
  date with a warning; the legacy one-object state format is not migrated.
- In-sync de-duplication (`components.py`): when records
  arrive while an offset-paged list is read, a record can come back on the next page; the
  Builder edition keeps only the record filters' conditions, so such a repeat reaches the
  destination (one that de-duplicates on the primary key drops it).
- `check` of every configured project: the manifest's CheckStream reads one partition, so an
  unknown second project slug passes `check` and fails the sync (with the clear 404 message the
  manifest's error handler gives); `source.py` also unquotes the CDK's repr()-quoted check message
  and first sees whether the host answers at all.
- Pacing from all of Sentry's rate-limit headers (`rate_limits.py`, installed by `source.py`): the
  manifest's API budget reads -Remaining and -Reset only.
Everything else (streams, URLs, pagination, rate-limit waits, incremental cursors and windows,
401/403/404 messages, config normalization of host and projects) is in the manifest.
"""
from __future__ import annotations

import copy
import importlib.util
import json
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
import yaml
from airbyte_cdk.connector_builder.main import handle_request
from airbyte_cdk.sources.declarative.concurrent_declarative_source import (
    ConcurrentDeclarativeSource,
    get_declarative_component_schema,
)
from airbyte_cdk.sources.declarative.parsers.custom_code_compiler import AirbyteCustomCodeNotPermittedError
from airbyte_cdk.sources.declarative.parsers.manifest_component_transformer import ManifestComponentTransformer
from airbyte_cdk.sources.declarative.parsers.manifest_reference_resolver import ManifestReferenceResolver
from airbyte_cdk.test.entrypoint_wrapper import discover as entrypoint_discover
from airbyte_cdk.test.entrypoint_wrapper import read as entrypoint_read

from sentry_emulator.dataset import parse_datetime
from conftest import NOW
from harness import ISSUE_WINDOW_BOUNDS, catalog_for, config_for, ground_truth, key_of, public, read, records_of

ROOT = Path(__file__).resolve().parents[1]
PACKAGED_MANIFEST = ROOT / "source_sentry" / "manifest.yaml"
BUILDER_MANIFEST = ROOT / "builder" / "manifest.yaml"
SCHEMAS = ROOT / "source_sentry" / "schemas"


def _load_generator():
    spec = importlib.util.spec_from_file_location("build_builder_manifest", ROOT / "scripts" / "build_builder_manifest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
STREAMS: List[str] = generator.stream_names(yaml.safe_load(PACKAGED_MANIFEST.read_text()))
MANIFESTS = {"packaged": PACKAGED_MANIFEST, "builder": BUILDER_MANIFEST}


_PARSED: Dict[Path, Any] = {}


def load_manifest(path: Path) -> Dict[str, Any]:
    """The manifest file as yaml.safe_load reads it, parsed once per test process (the builder
    edition takes ~0.2 CPU-s to parse, and most tests here need it); each caller gets its own deep
    copy, since the CDK resolves references in the manifest it is given, in place."""
    if path not in _PARSED:
        _PARSED[path] = yaml.safe_load(path.read_text())
    return copy.deepcopy(_PARSED[path])
WINDOWED = {"events": "dateCreated", "issues": "lastSeen"}
# The Builder reads 5 slices: organization_stats' first 5 days (89 days ago) hold no usage in the
# emulator (usage covers 30 days), so its test read starts 4 days ago.
TEST_READ_CONFIG = {"organization_stats": {"start_date": (NOW - timedelta(days=4)).strftime("%Y-%m-%d")}}


def builder_request(tmp_path: Path, manifest: Path, command: str, config: Dict[str, Any], stream: str | None = None) -> Dict[str, Any]:
    """Runs one Connector Builder request as the Builder's server does; returns the message it prints."""
    request_config = {**config, "__command": command, "__injected_declarative_manifest": load_manifest(manifest)}
    config_path = tmp_path / f"{command}-config.json"
    config_path.write_text(json.dumps(request_config))
    # The Builder's server always sends a catalog: the stream to test_read, none to resolve.
    streams = [{"stream": {"name": stream, "json_schema": {}, "supported_sync_modes": ["full_refresh"]},
                "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}] if stream else []
    catalog_path = tmp_path / f"{command}-catalog.json"
    catalog_path.write_text(json.dumps({"streams": streams}))
    args = ["read", "--config", str(config_path), "--catalog", str(catalog_path)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        message = json.loads(handle_request(args))
    message["python_deprecations"] = sorted({str(w.message) for w in caught if "deprecated" in str(w.message).lower()})
    return message


def components_of_type(node: Any, component_type: str):
    if isinstance(node, dict):
        if node.get("type") == component_type:
            yield node
        for value in node.values():
            yield from components_of_type(value, component_type)
    elif isinstance(node, list):
        for value in node:
            yield from components_of_type(value, component_type)


def validation_errors(manifest: Dict[str, Any]) -> List[str]:
    """What the CDK checks when it loads a manifest: refs resolved, types and parameters propagated."""
    resolved = ManifestReferenceResolver().preprocess_manifest(copy.deepcopy(manifest))
    propagated = ManifestComponentTransformer().propagate_types_and_parameters("", resolved, {})
    validator = jsonschema.Draft7Validator(get_declarative_component_schema())
    # best_match descends into anyOf branches to the deepest, most relevant message.
    deepest = (jsonschema.exceptions.best_match([error]) for error in validator.iter_errors(propagated))
    return sorted({f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in deepest})


# ------------------------------------------------------------------------------------------------
# resolve_manifest
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("manifest", MANIFESTS.values(), ids=MANIFESTS.keys())
def test_given_the_manifest_when_the_builder_resolves_it_then_every_stream_resolves_without_url_base_or_path(tmp_path, shared_emulator, manifest, monkeypatch):
    if manifest == PACKAGED_MANIFEST:  # it names custom components: a Builder that allows custom code
        monkeypatch.setenv("AIRBYTE_ENABLE_UNSAFE_CODE", "true")
    message = builder_request(tmp_path, manifest, "resolve_manifest", config_for(shared_emulator))

    assert message["type"] == "RECORD", message
    assert message["record"]["stream"] == "resolve_manifest"
    resolved = message["record"]["data"]["manifest"]
    assert [stream["name"] for stream in resolved["streams"]] == STREAMS
    requesters = list(components_of_type(resolved, "HttpRequester"))
    assert len(requesters) >= len(STREAMS)
    assert [sorted({"url_base", "path"} & set(requester)) for requester in requesters] == [[]] * len(requesters)
    assert all(requester["url"].startswith("{{ config['api_base'] }}/") for requester in requesters)
    assert message["python_deprecations"] == []


def test_given_the_builder_import_flags_when_resolving_then_migration_and_normalization_keep_every_stream(tmp_path, shared_emulator):
    """The Builder UI imports a manifest with `__should_migrate` and `__should_normalize` set."""
    config = {**config_for(shared_emulator), "__should_migrate": True, "__should_normalize": True}

    message = builder_request(tmp_path, BUILDER_MANIFEST, "resolve_manifest", config)

    assert message["type"] == "RECORD", message
    assert [stream["name"] for stream in message["record"]["data"]["manifest"]["streams"]] == STREAMS


# ------------------------------------------------------------------------------------------------
# test_read
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", STREAMS)
def test_given_a_stream_when_the_builder_test_reads_it_then_pages_hold_exactly_the_apis_records(tmp_path, shared_emulator, shared_dataset, stream):
    message = builder_request(tmp_path, BUILDER_MANIFEST, "test_read", config_for(shared_emulator, **TEST_READ_CONFIG.get(stream, {})), stream)

    assert message["type"] == "RECORD", message.get("trace", message)
    result = message["record"]["data"]
    assert result["logs"] == []  # no error, no deprecation warning
    assert message["python_deprecations"] == []
    pages = [page for slice_ in result["slices"] for page in slice_["pages"]]
    assert result["slices"] and pages
    assert {page["response"]["status"] for page in pages} == {200}
    assert all(page["request"]["url"].startswith(shared_emulator.url + "/api/0/") for page in pages)
    records = [public(record) for page in pages for record in page["records"]]
    if stream == "issues":  # the window a record was read in is checked below
        records = [{k: v for k, v in r.items() if k not in ISSUE_WINDOW_BOUNDS} for r in records]
    assert records, "the Builder shows no record"
    truth = {key_of(stream, record): record for record in ground_truth(shared_dataset, stream)}
    keys = [key_of(stream, record) for record in records]
    assert len(set(keys)) == len(keys), "a record is shown twice"
    assert [truth.get(key) for key in keys] == records
    if not result["test_read_limit_reached"] and stream not in TEST_READ_CONFIG:
        assert sorted(keys) == sorted(truth), "the Builder says it read everything, but records are missing"
    if stream in WINDOWED:
        # Each page holds only records of the window its request asked for ([start, end), whole seconds).
        # (Pages, not slices: the Builder groups pages into slices from log lines of another thread.)
        for page in pages:
            query = parse_qs(urlsplit(page["request"]["url"]).query)
            start, end = (parse_datetime(query[bound][0]) for bound in ("start", "end"))
            for record in page["records"]:
                assert start <= parse_datetime(record[WINDOWED[stream]]).replace(microsecond=0) < end
    assert result["inferred_schema"]["properties"]


def test_given_the_releases_stream_when_test_read_then_the_builder_shows_more_than_one_page(tmp_path, shared_emulator):
    message = builder_request(tmp_path, BUILDER_MANIFEST, "test_read", config_for(shared_emulator), "releases")

    (listing,) = message["record"]["data"]["slices"]  # every status in one listing
    assert len(listing["pages"]) >= 2
    assert [len(page["records"]) for page in listing["pages"]][0] == 100
    assert "status=&" in listing["pages"][0]["request"]["url"]
    assert "cursor=" in listing["pages"][1]["request"]["url"]


@pytest.mark.parametrize("command, stream", [("resolve_manifest", None), ("test_read", "projects")])
def test_given_the_packaged_manifest_when_the_builder_loads_it_then_it_refuses_its_custom_components(tmp_path, shared_emulator, command, stream):
    """The spec's first config transformation is custom (config_checks.py): the Builder refuses the
    manifest as it builds the source, for every request (its server reports the exception as
    "Error handling request: ...")."""
    config = config_for(shared_emulator, auth_token="sntrys_secret_value")
    with pytest.raises(AirbyteCustomCodeNotPermittedError) as refused:
        builder_request(tmp_path, PACKAGED_MANIFEST, command, config, stream)

    assert str(refused.value) == (
        "Custom connector code is not permitted in this environment. If you need to run custom code, "
        "please ask your administrator to set the `AIRBYTE_ENABLE_UNSAFE_CODE` environment variable to 'true' "
        "in your Airbyte environment. If you see this message in Airbyte Cloud, your workspace does not allow "
        "executing custom connector code."
    )
    assert "sntrys_secret_value" not in str(refused.value)


def test_given_a_manifest_with_url_base_and_path_when_test_read_then_the_builder_warns_of_each(tmp_path, shared_emulator):
    """Control: the warnings the tests above expect to be absent do show up for a deprecated requester."""
    manifest = load_manifest(BUILDER_MANIFEST)
    requester = manifest["definitions"]["requester"]
    requester.pop("url")
    requester["url_base"] = "{{ config['api_base'] }}"
    requester["path"] = "/organizations/{{ config['organization'] }}/{{ parameters.endpoint }}"
    deprecated = tmp_path / "deprecated.yaml"
    deprecated.write_text(yaml.safe_dump(manifest, sort_keys=False))

    message = builder_request(tmp_path, deprecated, "test_read", config_for(shared_emulator), "projects")

    logs = message["record"]["data"]["logs"]
    assert sorted((log["level"], log["message"].split(". ")[1]) for log in logs) == [
        ("WARN", "Field 'path' is deprecated"),
        ("WARN", "Field 'url_base' is deprecated"),
    ]


# ------------------------------------------------------------------------------------------------
# validation against the CDK's component schema
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("manifest", MANIFESTS.values(), ids=MANIFESTS.keys())
def test_given_the_manifest_when_validated_against_the_declarative_component_schema_then_it_is_valid(manifest):
    assert validation_errors(yaml.safe_load(manifest.read_text())) == []


def test_given_an_invalid_requester_when_validated_then_the_component_schema_rejects_it():
    """Control: the validation above can fail."""
    manifest = yaml.safe_load(PACKAGED_MANIFEST.read_text())
    manifest["definitions"]["requester"]["http_method"] = "FETCH"

    errors = validation_errors(manifest)

    # every stream's requester derives from definitions/requester
    assert {int(error.split("/")[1]) for error in errors} == set(range(len(STREAMS))), errors
    assert "streams/0/retriever/requester/http_method: 'FETCH' is not one of ['GET', 'POST']" in errors


# ------------------------------------------------------------------------------------------------
# builder/manifest.yaml: generated, same streams, same schemas, same records
# ------------------------------------------------------------------------------------------------

def test_given_the_checked_in_builder_manifest_then_it_is_what_the_generator_writes():
    assert BUILDER_MANIFEST.read_text() == generator.render(), "stale: run python scripts/build_builder_manifest.py"


def test_given_the_builder_manifest_then_it_is_the_packaged_manifest_without_custom_code_and_with_each_schema_file_inline():
    packaged = yaml.safe_load(PACKAGED_MANIFEST.read_text())
    builder = load_manifest(BUILDER_MANIFEST)

    loaders = [row.pop("schema_loader") for row in builder["streams"]]

    assert "class_name" not in json.dumps(builder)
    assert builder == generator.without_custom_code(generator.without_schema_files(packaged))
    assert [loader["type"] for loader in loaders] == ["InlineSchemaLoader"] * len(STREAMS)
    assert [loader["schema"] for loader in loaders] == [json.loads((SCHEMAS / f"{name}.json").read_text()) for name in STREAMS]
    assert sorted(STREAMS) == sorted(path.stem for path in SCHEMAS.glob("*.json"))


def test_given_the_builder_manifest_when_discovering_then_the_catalog_is_the_packaged_connectors(shared_emulator):
    from source_sentry import SourceSentry

    config = config_for(shared_emulator)
    builder = entrypoint_discover(ConcurrentDeclarativeSource(source_config=load_manifest(BUILDER_MANIFEST), config=config), config)
    packaged = entrypoint_discover(SourceSentry(config=config), config)

    assert builder.catalog.catalog.streams == packaged.catalog.catalog.streams
    assert all(stream.json_schema["properties"] for stream in builder.catalog.catalog.streams)


def test_given_the_builder_manifest_when_reading_every_stream_then_records_are_the_packaged_connectors(shared_emulator):
    config = config_for(shared_emulator)
    catalog = catalog_for(STREAMS)
    source = ConcurrentDeclarativeSource(source_config=load_manifest(BUILDER_MANIFEST), config=config, catalog=catalog)

    builder = entrypoint_read(source, config, catalog)
    packaged = read(config, STREAMS)

    assert builder.errors == [] and packaged.errors == []
    for stream in STREAMS:
        ours = sorted(records_of(builder, stream), key=lambda record: key_of(stream, record))
        # the Builder edition cannot keep top-level nulls (no KeepTopLevelNulls): the CDK drops them
        theirs = sorted(({k: v for k, v in record.items() if v is not None} for record in records_of(packaged, stream)),
                        key=lambda record: key_of(stream, record))
        if stream == "issues":  # two reads, two windows (the default start and the end follow the clock)
            ours, theirs = ([{k: v for k, v in r.items() if k not in ISSUE_WINDOW_BOUNDS} for r in rows] for rows in (ours, theirs))
        assert ours == theirs, stream
        assert ours, f"{stream} read no record"


# ------------------------------------------------------------------------------------------------
# Explore queries (dynamic streams) in the Builder
# ------------------------------------------------------------------------------------------------

EXPLORE_QUERY = {"name": "db_spans", "dataset": "spans", "fields": ["span.op", "span.duration"], "query": "span.op:db", "window": "P30D"}


def test_given_an_explore_query_when_the_builder_resolves_the_manifest_fully_then_its_stream_is_generated(tmp_path, shared_emulator):
    from explore_harness import START_DATE

    config = config_for(shared_emulator, start_date=START_DATE, explore_queries=[EXPLORE_QUERY])
    message = builder_request(tmp_path, BUILDER_MANIFEST, "full_resolve_manifest", config)

    streams = message["record"]["data"]["manifest"]["streams"]
    assert [stream["name"] for stream in streams] == STREAMS + ["explore_db_spans"]
    assert streams[-1]["dynamic_stream_name"] == "explore_row_queries"
    assert streams[-1]["schema_loader"]["type"] == "InlineSchemaLoader"


def test_given_an_explore_query_when_the_builder_test_reads_it_then_pages_hold_exactly_the_apis_rows(tmp_path, shared_emulator, shared_dataset):
    from explore_harness import START_DATE, expected_rows

    config = config_for(shared_emulator, start_date=START_DATE, explore_queries=[EXPLORE_QUERY])
    message = builder_request(tmp_path, BUILDER_MANIFEST, "test_read", config, "explore_db_spans")

    assert message["type"] == "RECORD", message.get("trace", message)
    result = message["record"]["data"]
    assert result["logs"] == [] and message["python_deprecations"] == []
    records = [public(record) for slice_ in result["slices"] for page in slice_["pages"] for record in page["records"]]
    expected = expected_rows(shared_dataset, "spans", EXPLORE_QUERY["fields"], lambda row: row["span.op"] == "db", keep_nulls=False)
    assert not result["test_read_limit_reached"]
    assert sorted(records, key=lambda record: record["id"]) == sorted(expected, key=lambda record: record["id"])


def test_given_a_window_above_the_offset_cap_when_the_builder_test_reads_it_then_it_reads_on_repeating_only_restart_instants(tmp_path, emulator_factory):
    """The Builder runs the same pagination reset (it is declarative) without the packaged
    de-duplication: the row of each restart instant shows twice, none is missing."""
    from explore_harness import START_DATE, expected_rows

    emulator = emulator_factory(explore_offset_cap=200)
    query = {"name": "spans", "dataset": "spans", "fields": ["span.op"], "window": "P30D"}
    config = config_for(emulator, start_date=START_DATE, explore_offset_cap=200, explore_queries=[query],
                        __test_read_config={"max_pages_per_slice": 100, "max_records": 5000})
    message = builder_request(tmp_path, BUILDER_MANIFEST, "test_read", config, "explore_spans")

    result = message["record"]["data"]
    pages = [page for slice_ in result["slices"] for page in slice_["pages"]]
    ids = [record["id"] for page in pages for record in page["records"]]
    expected = expected_rows(emulator.dataset, "spans", query["fields"])
    restarts = sum(1 for page in pages if "cursor=" not in page["request"]["url"]) - 1
    assert result["logs"] == [] and not result["test_read_limit_reached"]
    assert sorted(set(ids)) == sorted(row["id"] for row in expected)
    assert restarts > 0 and len(ids) == len(expected) + restarts

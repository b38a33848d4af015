"""Discover declares every stream with its sync modes, keys, cursor and schema file."""
import json
from pathlib import Path

import pytest

from harness import PRIMARY_KEYS, STREAMS, config_for, discover

SCHEMAS = Path(__file__).parent.parent / "source_sentry" / "schemas"


@pytest.fixture(scope="module")
def catalog(shared_emulator):
    output = discover(config_for(shared_emulator))
    return {stream.name: stream for stream in output.catalog.catalog.streams}


def test_given_a_config_when_discovering_then_exactly_the_documented_streams_are_listed(catalog, shared_emulator):
    assert sorted(catalog) == sorted(STREAMS)
    assert shared_emulator.requests == [] or all(r.path for r in shared_emulator.requests)


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_each_stream_declares_modes_primary_key_and_cursor(catalog, name):
    primary_key, cursor, _ = STREAMS[name]
    stream = catalog[name]
    assert stream.source_defined_primary_key == PRIMARY_KEYS.get(name, [[primary_key]])
    modes = sorted(mode.value for mode in stream.supported_sync_modes)
    if cursor:
        assert modes == ["full_refresh", "incremental"]
        assert stream.source_defined_cursor is True
        assert stream.default_cursor_field == [cursor]
    else:
        assert modes == ["full_refresh"]


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_each_stream_uses_its_schema_file(catalog, name):
    on_disk = json.loads((SCHEMAS / f"{name}.json").read_text())
    schema = catalog[name].json_schema
    assert schema["properties"], f"{name} has an empty schema"
    assert set(schema["properties"]) == set(on_disk["properties"])
    primary_key, cursor, _ = STREAMS[name]
    assert primary_key in schema["properties"]
    if cursor:
        assert cursor in schema["properties"]

"""The command's start-up shortcuts (source_sentry/run.py, startup.py) change nothing it says."""
import json
import logging
import subprocess
import sys

from airbyte_cdk.models import AirbyteMessage, AirbyteMessageSerializer, Type

from harness import catalog_for
from source_sentry import SourceSentry
from source_sentry.run import spec_message


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_given_the_manifest_when_answering_spec_without_the_cdk_then_it_is_the_cdks_answer():
    cdk_spec = SourceSentry().spec(logging.getLogger("test"))
    expected = AirbyteMessageSerializer.dump(AirbyteMessage(type=Type.SPEC, spec=cdk_spec))

    assert json.loads(spec_message()) == expected


def test_given_the_spec_command_when_it_runs_then_the_cdk_is_never_imported():
    done = _python("import sys\nfrom source_sentry.run import run\nrun(['spec'])\n"
                   "print('cdk imported' if 'airbyte_cdk' in sys.modules else 'cdk not imported', file=sys.stderr)")

    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "cdk not imported"
    assert [json.loads(line)["type"] for line in done.stdout.splitlines()] == ["SPEC"]


def test_given_docstrings_skipped_when_serializing_protocol_messages_then_the_output_is_unchanged():
    catalog = catalog_for(["events", "issues"])
    messages = [
        {"type": "RECORD", "record": {"stream": "events", "data": {"id": "1", "tags": [{"key": "a", "value": None}]}, "emitted_at": 1}},
        {"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "events"},
                                                                  "stream_state": {"states": [{"partition": {"project": "web"}, "cursor": {"dateCreated": "2026-01-01T00:00:00Z"}}]}}}},
        {"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": 1.0, "error": {"message": "boom", "failure_type": "config_error"}}},
    ]
    script = (
        "import json, sys\n"
        "from source_sentry.startup import skip_protocol_docstrings, _no_docstrings\n"
        "skip_protocol_docstrings()\n"
        "import serpyco_rs._describe, serpyco_rs._json_schema._convert\n"
        "assert serpyco_rs._describe.get_attributes_doc is _no_docstrings\n"
        "assert serpyco_rs._json_schema._convert.get_attributes_doc is _no_docstrings\n"
        "from airbyte_cdk.models import AirbyteMessageSerializer, ConfiguredAirbyteCatalogSerializer\n"
        "payload = json.load(sys.stdin)\n"
        "out = [AirbyteMessageSerializer.dump(AirbyteMessageSerializer.load(m)) for m in payload['messages']]\n"
        "out.append(ConfiguredAirbyteCatalogSerializer.dump(ConfiguredAirbyteCatalogSerializer.load(payload['catalog'])))\n"
        "print(json.dumps(out))\n"
    )
    from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer

    catalog_json = ConfiguredAirbyteCatalogSerializer.dump(catalog)
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps({"messages": messages, "catalog": catalog_json}),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr

    expected = [AirbyteMessageSerializer.dump(AirbyteMessageSerializer.load(m)) for m in messages]
    expected.append(ConfiguredAirbyteCatalogSerializer.dump(ConfiguredAirbyteCatalogSerializer.load(catalog_json)))
    assert json.loads(done.stdout) == expected


def test_given_a_command_when_the_source_is_built_then_start_up_objects_are_frozen_and_the_gc_runs_again(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auth_token": "t", "organization": "acme"}))
    done = _python("import gc, sys\nfrom source_sentry.run import run\n"
                   f"run(['discover', '--config', {str(config)!r}])\n"
                   "print(gc.isenabled(), gc.get_freeze_count() > 50_000, file=sys.stderr)")

    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "True True"
    assert [json.loads(line)["type"] for line in done.stdout.splitlines()][-1] == "CATALOG"

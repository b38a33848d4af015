"""The command's start-up shortcuts (source_sentry/run.py) change nothing it says."""
import json
import logging
import subprocess
import sys

from airbyte_cdk.models import AirbyteMessage, AirbyteMessageSerializer, Type

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


def test_given_a_command_when_the_source_is_built_then_start_up_objects_are_frozen_and_the_gc_runs_again(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auth_token": "t", "organization": "acme"}))
    done = _python("import gc, sys\nfrom source_sentry.run import run\n"
                   f"run(['discover', '--config', {str(config)!r}])\n"
                   "print(gc.isenabled(), gc.get_freeze_count() > 50_000, file=sys.stderr)")

    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "True True"
    assert [json.loads(line)["type"] for line in done.stdout.splitlines()][-1] == "CATALOG"

"""Top-level nulls: a field Sentry sends as null is in the emitted record as null (the CDK's
message serializer would leave it out: source_sentry/components.py KeepTopLevelNulls)."""
import subprocess
import sys

from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer

from harness import catalog_for, config_for, read, records_of, write_json


def test_given_fields_sent_as_null_when_reading_then_the_records_hold_them_as_null(shared_emulator, shared_dataset):
    output = read(config_for(shared_emulator), ["releases", "members"])
    releases = {r["id"]: r for r in records_of(output, "releases")}
    unreleased = [r for r in shared_dataset.releases if r["dateReleased"] is None]
    assert unreleased and all("dateReleased" in releases[r["id"]] and releases[r["id"]]["dateReleased"] is None for r in unreleased)
    pending = [m for m in records_of(output, "members") if m["pending"]]
    assert pending and all("user" in m and m["user"] is None for m in pending)


def test_given_the_command_when_reading_then_top_level_nulls_are_written_as_null(tmp_path, shared_emulator):
    """The `source-sentry` command's own output, as a destination reads it."""
    config = write_json(tmp_path / "config.json", config_for(shared_emulator))
    catalog = write_json(tmp_path / "catalog.json", ConfiguredAirbyteCatalogSerializer.dump(catalog_for(["members"])))
    done = subprocess.run([sys.executable, "-m", "source_sentry.run", "read", "--config", config, "--catalog", catalog],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"type":"RECORD"')]
    pending = [line for line in lines if '"pending":true' in line]
    assert pending and all('"user":null' in line for line in pending)
